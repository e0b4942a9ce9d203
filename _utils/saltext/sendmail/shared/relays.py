"""
Relay values as sendmail reads them: ``esmtp:[mail.example.com]`` is a mailer and a host, an ordered
list is a colon-separated host list that sendmail fails over along, and a relay may be this host.
"""

import ipaddress
import re


def networks(relay_domains):
    """
    The entries of a server's ``relay_domains`` that are IPv4 network prefixes (``198.51.100``),
    not domains: every dot-separated part a number (``3com.com`` is a domain). The one rule for
    every place that tells them apart (the STARTTLS requirement, the flood exemptions).
    """
    return [name for name in relay_domains or () if all(part.isdigit() for part in name.split("."))]


def site_networks(relay_domains):
    """
    The site's networks as sendmail's access map and rules match a client's address: the IPv4
    prefixes (:func:`networks`), then the ``IPv6:`` networks (``IPv6:2001:db8:5``).
    """
    ipv6 = [name for name in relay_domains or () if name[:5].lower() == "ipv6:"]
    return networks(relay_domains) + ipv6


def split(value):
    """Split a relay value such as ``esmtp:[mail.example.com]`` into (mailer, host)."""
    value = (value or "").strip()
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_-]*):(.+)", value)
    # "[IPv6:2001:db8::1]" has colons but no mailer prefix.
    if match and not value.startswith("["):
        return match.group(1), match.group(2)
    return None, value or None


def connect_host(value):
    """
    Where a client connects for the relay ``value``: its host without the mailer, the brackets
    and the ``IPv6:`` tag (``esmtp:[IPv6:2001:db8::25]`` -> ``2001:db8::25``).
    """
    host = (split(value)[1] or "").strip("[]")
    return host[5:] if host.lower().startswith("ipv6:") else host


def host_list(relays):
    """The colon-separated host list sendmail fails over along, mailer prefixes dropped."""
    return ":".join(split(relay)[1] for relay in relays)


def smart_host(relays):
    """
    The ``DS`` value (SMART_HOST, FEATURE(nullclient)) for ``relays``: one relay as given; a list as
    ``mailer:host1:host2`` with an explicit mailer, so that a one-label first host is never read as
    a mailer name.
    """
    if not relays:
        return ""
    if len(relays) == 1:
        return relays[0]
    mailer = split(relays[0])[0] or "relay"
    return f"{mailer}:{host_list(relays)}"


def is_local(host, hostnames=()):
    """True when a relay host names this machine: loopback, localhost or one of ``hostnames``."""
    if not host:
        return True
    name = host.strip("[]")
    if name.lower().startswith("ipv6:"):
        name = name[5:]
    if name.lower() in ("localhost", "localhost.localdomain") or name in hostnames:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def this_host_names(hostname):
    """The names a relay may use for this host: its hostname and the hostname's first label."""
    return {hostname, hostname.split(".")[0]}
