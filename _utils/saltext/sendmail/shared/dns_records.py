"""
The DNS records a site's mail needs to arrive at the large providers (Gmail and Yahoo since 2024,
Microsoft's consumer domains since 2025): each relay's DKIM key, the domain's SPF record allowing
the relays' public addresses, and a DMARC record. The fleet report (on the master) lists, per site,
the records to publish (:func:`site_records`) and looks each up (:func:`check`): a record missing
or not the relay's, an SPF record that does not allow a relay, no DMARC record are findings that
put the site's relays at risk (a person publishes DNS; the role cannot). A DNS server that does not
answer is said, never taken for a missing record.

The lookups use dnspython with the resolver the operator names. Salt's own ``salt.utils.dns``
answers False both for a name that does not exist and for a server that does not answer, which is
the difference this report must make; pyspf (the SPF library) resolves through one module-wide
lookup function, not a resolver per call: the small SPF evaluation here (:func:`spf`) covers the
mechanisms sites use (ip4, ip6, a, mx, include, exists, redirect, all) with RFC 7208's limit of ten
lookups.
"""

import ipaddress

from salt.exceptions import SaltInvocationError

from . import dkim

try:
    import dns.exception
    import dns.resolver
except ImportError:  # the master has no dnspython: the report says the records were not checked
    dns = None

FINDINGS = {
    "dkim-record-missing": "no DKIM record {name} is published: mail the relay signs fails DKIM",
    "dkim-record-mismatch": (
        "the DKIM record {name} is not this relay's key: mail it signs fails DKIM (publish the "
        "record sendmail_dkim.keys gives)"
    ),
    "spf-relay-not-allowed": (
        "{domain}'s SPF record gives {result} for the relay's address {address}: add ip{version}:"
        "{address}"
    ),
    "dmarc-missing": "no DMARC record at _dmarc.{domain}: bulk mail to Gmail and Yahoo is refused",
}
MAX_LOOKUPS = 10  # RFC 7208 4.6.4
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


class Unanswered(Exception):
    """The DNS server did not answer (timeout, refused, SERVFAIL): nothing is known of the name."""


def addresses(value, field="public_addresses"):
    """A list of IPv4 and IPv6 addresses (the schema's check of ``public_addresses``)."""
    if not isinstance(value, list):
        raise SaltInvocationError(f"{field}: expected a list of addresses, got {value!r}")
    for number, address in enumerate(value):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise SaltInvocationError(f"{field}[{number}]: {address!r} is not an IP address") from None
    return value


def resolver(servers=None, timeout=5.0):
    """A dnspython resolver asking ``servers`` (default: the master's resolv.conf)."""
    if dns is None:
        return None
    found = dns.resolver.Resolver(configure=not servers)
    if servers:
        found.nameservers = [str(ipaddress.ip_address(server)) for server in servers]
    found.lifetime = found.timeout = float(timeout)
    return found


def _resolve(ask, name, kind):
    """The ``kind`` records of ``name``: [] when it does not exist; Unanswered when no answer came."""
    try:
        return list(ask.resolve(name, kind, raise_on_no_answer=False, search=False))
    except dns.resolver.NXDOMAIN:
        return []
    except (
        dns.exception.Timeout,
        dns.resolver.NoNameservers,
        dns.resolver.NoResolverConfiguration,
    ) as err:
        raise Unanswered(f"{name}: {err}") from err


def txt(ask, name):
    """The TXT strings of ``name`` (each record's strings joined), [] when there are none."""
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in _resolve(ask, name, "TXT")]


def _addresses_of(ask, name, counter):
    counter[0] += 1
    return [
        ipaddress.ip_address(rdata.address)
        for kind in ("A", "AAAA")
        for rdata in _resolve(ask, name, kind)
    ]


def _mx_hosts(ask, name, counter):
    counter[0] += 1
    return [rdata.exchange.to_text(omit_final_dot=True) for rdata in _resolve(ask, name, "MX")]


def _in(address, hosts, prefix):
    for host in hosts:
        if host.version == address.version:
            bits = prefix.get(address.version, address.max_prefixlen)
            if address in ipaddress.ip_network(f"{host}/{bits}", strict=False):
                return True
    return False


def spf(ask, domain, address, counter=None):
    """
    The SPF result (pass, fail, softfail, neutral, none, permerror) of ``domain`` for mail from
    ``address``; raises :class:`Unanswered` when the DNS does not answer.
    """
    counter = counter if counter is not None else [0]
    address = ipaddress.ip_address(address)
    records = [text for text in txt(ask, domain) if text.lower().split(" ")[0] == "v=spf1"]
    if not records:
        return "none"
    if len(records) > 1:
        return "permerror"
    redirect = None
    for term in records[0].split()[1:]:
        name, equals, value = term.partition("=")
        if equals and ":" not in name and "/" not in name:
            redirect = value if name.lower() == "redirect" else redirect
            continue
        qualifier = term[0] if term[0] in QUALIFIERS else "+"
        mechanism, _, argument = term.lstrip("+-~?").partition(":")
        mechanism, _, cidr = mechanism.partition("/")
        argument, _, arg_cidr = (
            argument.partition("/") if mechanism in ("a", "mx") else (argument, "", "")
        )
        prefix = {4: int(cidr or arg_cidr or 32), 6: 128}
        mechanism = mechanism.lower()
        if counter[0] > MAX_LOOKUPS:
            return "permerror"
        if mechanism == "all":
            matched = True
        elif mechanism in ("ip4", "ip6"):
            matched = address in ipaddress.ip_network(argument, strict=False)
        elif mechanism == "a":
            matched = _in(address, _addresses_of(ask, argument or domain, counter), prefix)
        elif mechanism == "mx":
            hosts = [
                found
                for mx in _mx_hosts(ask, argument or domain, counter)
                for found in _addresses_of(ask, mx, [0])
            ]
            matched = _in(address, hosts, prefix)
        elif mechanism == "include":
            counter[0] += 1
            matched = spf(ask, argument, address, counter) == "pass"
        elif mechanism == "exists":
            matched = bool(_addresses_of(ask, argument, counter))
        else:  # ptr (deprecated) and what RFC 7208 does not know match nothing here
            matched = False
        if matched:
            return QUALIFIERS[qualifier]
    if redirect:
        counter[0] += 1
        return spf(ask, redirect, address, counter)
    return "neutral"


def site_records(relays, public_addresses=None):
    """
    The records a site must publish, from its relays' report entries (``{minion: entry}``, each
    with ``dkim`` and ``addresses``): each relay's DKIM keys (the next ones of a rotation too),
    then per signed domain an SPF record allowing the relays' public addresses and a DMARC record
    to start from. Each is ``name``, ``type``, ``value``, ``strings``, ``purpose`` and ``minion``.
    """
    records, domains, sending = [], [], list(public_addresses or [])
    for minion, found in sorted(relays.items()):
        signing = found.get("dkim") or {}
        for key in (signing.get("keys") or []) + (signing.get("next") or []):
            if key.get("value"):
                records.append(_record(key["name"], key["value"], "dkim", minion, key["strings"]))
                domains.append(key["domain"])
        if public_addresses is None:
            sending += found.get("addresses") or []
    for domain in dict.fromkeys(domains):
        mechanisms = " ".join(
            f"ip{ipaddress.ip_address(address).version}:{address}" for address in dict.fromkeys(sending)
        )
        records.append(_record(domain, f"v=spf1 {mechanisms} ~all", "spf", None))
        records.append(
            _record(
                f"_dmarc.{domain}", f"v=DMARC1; p=none; rua=mailto:postmaster@{domain}", "dmarc", None
            )
        )
    return records


def _record(name, value, purpose, minion, strings=None):
    chunks = strings or [value[start : start + 255] for start in range(0, len(value), 255)]
    return {
        "name": name,
        "type": "TXT",
        "value": value,
        "strings": chunks,
        "purpose": purpose,
        "minion": minion,
    }


def check(ask, records, relays, public_addresses=None):
    """
    Each record of :func:`site_records` looked up with ``ask`` (a :func:`resolver`): returns the
    findings per relay minion (``{minion: [finding]}``) and ``unanswered`` (the names the DNS did
    not answer for: nothing is said of them). Each record gets ``published`` (True, False or None).
    """
    found, unanswered = {minion: [] for minion in relays}, []

    def add(minions, finding_id, **values):
        for minion in minions:
            message = FINDINGS[finding_id].format(**values)
            found[minion].append({"id": finding_id, "severity": "high", "message": message})

    signers = {}
    for record in records:
        try:
            if record["purpose"] == "dkim":
                domain = record["name"].split("._domainkey.", 1)[1]
                signers.setdefault(domain, set()).add(record["minion"])
                published = txt(ask, record["name"])
                keys = [dkim.public_key(text) for text in published]
                record["published"] = dkim.public_key(record["value"]) in keys
                if not record["published"]:
                    kind = "dkim-record-mismatch" if published else "dkim-record-missing"
                    add([record["minion"]], kind, name=record["name"])
            elif record["purpose"] == "dmarc":
                record["published"] = any(
                    text.startswith("v=DMARC1") for text in txt(ask, record["name"])
                )
                if not record["published"]:
                    add(
                        sorted(signers.get(record["name"][7:], ())),
                        "dmarc-missing",
                        domain=record["name"][7:],
                    )
            else:
                record["published"] = _spf_findings(
                    ask, record["name"], relays, public_addresses, signers, add
                )
        except Unanswered as err:
            record["published"] = None
            unanswered.append(str(err))
    return found, unanswered


def _spf_findings(ask, domain, relays, public_addresses, signers, add):
    """Whether every relay's public address passes ``domain``'s SPF (findings added where not)."""
    allowed = True
    for minion in sorted(signers.get(domain, ())):
        for address in public_addresses or relays[minion].get("addresses") or []:
            result = spf(ask, domain, address)
            if result != "pass":
                allowed = False
                version = ipaddress.ip_address(address).version
                add(
                    [minion],
                    "spf-relay-not-allowed",
                    domain=domain,
                    result=result,
                    address=address,
                    version=version,
                )
    return allowed
