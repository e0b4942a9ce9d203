"""
What a site's relays carry beyond relaying, as one checked mapping of the site's pillar keys
(servers only): the maps (:mod:`relay_maps`), the access entries, the milters (:mod:`milters`) and
the settings of :mod:`relay_options`. :func:`check` refuses any bad key or value before anything is
read or run; the build turns the result into .mc lines (:func:`mc_lines`) and map files.
"""

from salt.exceptions import SaltInvocationError

from . import allowlist, milters, relay_maps, relay_options, relays

MAP_KEYS = ("mailertable", "virtusertable", "genericstable", "domaintable")
KEYS = (
    *MAP_KEYS,
    "generics_domains",
    "access",
    "milters",
    "listen",
    "timeouts",
    "privacy_flags",
    "dnsbl",
    "local_host_names",
    "trusted_users",
)


def check(value, relay_domains=(), field="features"):
    """
    The features of ``value`` (pillar names, any subset), checked, with their defaults. An access
    entry for one of the site's networks (``relay_domains``) is refused: the relay writes
    ``Connect:NETWORK RELAY`` for each itself (they relay, skip the blocklists and the limits).
    """
    value = allowlist.mapping_of(value or {}, KEYS, field)
    checked = {name: relay_maps.entries(value.get(name), name, name) for name in MAP_KEYS}
    checked["generics_domains"] = relay_options.names(value.get("generics_domains"), "generics_domains")
    if checked["genericstable"] and not checked["generics_domains"]:
        raise SaltInvocationError(
            "generics_domains: the genericstable rewrites senders of these hosts' domains: name one"
        )
    checked["access"] = relay_maps.access(value.get("access"))
    for network in relays.site_networks(relay_domains):
        if f"Connect:{network}" in checked["access"]:
            raise SaltInvocationError(
                f"access:Connect:{network}: a network of relay_domains: the relay lets it relay itself"
            )
    checked["milters"] = milters.check(value.get("milters"))
    checked.update(relay_options.check(value))
    return checked


def access_lines(features, relay_domains):
    """The access map lines of the site's entries and of its own networks (Connect: RELAY)."""
    lines = [f"Connect:{network}\tRELAY" for network in relays.site_networks(relay_domains)]
    return lines + [f"{key}\t{action}" for key, action in sorted(features["access"].items())]


def mc_lines(lookup, features):
    """The .mc lines of ``features`` that go before the MAILERs (DAEMON_OPTIONS apart)."""
    lines = relay_options.mc_lines(features)
    lines += relay_maps.mc_lines(lookup, features, features["generics_domains"])
    if features["genericstable"]:
        lines.append("FEATURE(`masquerade_envelope')dnl")  # the envelope sender rewritten too
    for domain in sorted({key.partition("@")[2] for key in features["virtusertable"]}):
        lines.append(f"VIRTUSER_DOMAIN(`{domain}')dnl")
    return lines + milters.mc_lines(features["milters"])
