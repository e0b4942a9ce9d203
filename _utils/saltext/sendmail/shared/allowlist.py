"""
The allowlist: every value that reaches an .mc, a switch file or a crontab is checked here first.

Values pasted into an .mc are rescanned by m4 (SMART_HOST and FEATURE(msp) even twice), so quoting is
no defense: only the forms below are accepted, and a label that m4 or cf.m4 would expand is refused.
Each check returns the value (normalised) or raises SaltInvocationError naming the field.
"""

import ipaddress
import re

from salt.exceptions import SaltInvocationError

from . import limits_table
from . import relays as relay_forms

ROLES = ("client", "server")
MSP_RUNNERS = ("daemon", "cron")
QUEUES = ("mta", "msp")
BUILD_KINDS = ("msp", "nullclient", "server")
RELAY_MAILERS = ("esmtp", "relay", "smtp")

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
_M4_WORDS = frozenset(
    """builtin changecom changequote debugfile debugmode decr define defn divert divnum dnl dumpdef
    errprint esyscmd eval format ifdef ifelse include incr index indir len m4exit m4wrap maketemp
    mkstemp patsubst popdef pushdef regexp shift sinclude substr syscmd sysval traceoff traceon
    translit undefine undivert DOMAIN FEATURE HACK MAILER OSTYPE SITECONFIG VERSIONID""".split()  # noqa: SIM905
)


def one_of(value, allowed, field, why=""):
    """``value`` if it is one of ``allowed``; the error lists them (and says ``why`` it matters)."""
    if isinstance(value, str) and value in allowed:
        return value
    quoted = " or ".join(f"'{choice}'" for choice in allowed)
    raise SaltInvocationError(f"{field} must be {quoted}, not {value!r}{why}")


def mapping_of(value, known, field, what="a mapping"):
    """``value`` if it is a mapping whose keys are all among ``known``; the error names the others."""
    if not isinstance(value, dict):
        raise SaltInvocationError(f"{field}: expected {what}, got {value!r}")
    unknown = sorted(set(map(str, value)) - set(known))
    if unknown:
        raise SaltInvocationError(
            f"{field}: unknown key {', '.join(unknown)} (known: {', '.join(known)})"
        )
    return value


def role(value):
    return one_of(value, ROLES, "role")


def msp_runner(value):
    return one_of(value, MSP_RUNNERS, "msp_runner", ": the MSP queue needs a runner")


def queue_name(value):
    return one_of(value, QUEUES, "queue name")


def build_kind(value):
    return one_of(value, BUILD_KINDS, "kind")


def whole_number(value, field):
    """``value`` as a whole number of at least 0."""
    try:
        return max(int(value), 0)
    except (TypeError, ValueError) as err:
        raise SaltInvocationError(f"{field} must be a whole number, not {value!r}") from err


def duration_seconds(text, default_unit="m"):
    """
    Seconds in a sendmail duration: ``15m``, ``1h30m``, ``90`` (in ``default_unit``), ``00:15:00``.
    Returns None for anything else.
    """
    text = (text or "").strip()
    if re.fullmatch(r"\d+:\d{2}:\d{2}", text):
        hours, minutes, seconds = (int(part) for part in text.split(":"))
        return hours * 3600 + minutes * 60 + seconds
    if re.fullmatch(r"\d+", text):
        return int(text) * _DURATION_UNITS[default_unit]
    if not re.fullmatch(r"(\d+[smhdw])+", text):
        return None
    return sum(
        int(number) * _DURATION_UNITS[unit] for number, unit in re.findall(r"(\d+)([smhdw])", text)
    )


def interval(value, field="interval"):
    """A sendmail duration with its unit (``15m``, ``1h30m``), not zero."""
    if not isinstance(value, str) or duration_seconds(value) in (None, 0):
        raise SaltInvocationError(
            f"{field}: {value!r} is not a sendmail duration such as 15m, 1h or 1h30m"
        )
    if not re.fullmatch(r"(\d+[smhdw])+", value):
        raise SaltInvocationError(f"{field}: {value!r} needs a unit (s, m, h, d or w)")
    return value


def port(value, field="port"):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SaltInvocationError(f"{field}: expected a port number, got {value!r}")
    if isinstance(value, str) and not value.isdigit():
        raise SaltInvocationError(f"{field}: {value!r} is not a port number")
    if not 1 <= int(value) <= 65535:
        raise SaltInvocationError(f"{field}: {value} is not between 1 and 65535")
    return int(value)


def hostname_problem(name):
    """What keeps ``name`` out of an .mc as a host or domain name, or None."""
    if not isinstance(name, str) or len(name) > 253 or not _HOSTNAME_RE.fullmatch(name):
        return "not a host name"
    if any(label in _M4_WORDS for label in name.split(".")):
        return "contains an m4 word that m4 would expand"
    return None


def relay(value, field="relay"):
    """
    One relay: ``host.example.com`` (MX lookup), ``[host.example.com]`` (no MX lookup),
    ``[192.0.2.1]``, ``[IPv6:2001:db8::25]``, each optionally prefixed by ``esmtp:``, ``relay:`` or
    ``smtp:``.
    """
    if not isinstance(value, str):
        # YAML turns an unquoted [host] into a list, "no" into False and an empty value into None.
        raise SaltInvocationError(
            f"{field}: expected a host name string, got {type(value).__name__} {value!r} "
            "(quote it in YAML: '[mail.example.com]')"
        )
    mailer, host = relay_forms.split(value)
    if value != value.strip() or not host:
        raise SaltInvocationError(f"{field}: {value!r} is not a relay host")
    if mailer is not None and mailer not in RELAY_MAILERS:
        raise SaltInvocationError(
            f"{field}: mailer {mailer!r} in {value!r} is not one of {', '.join(RELAY_MAILERS)}"
        )
    bracketed = host.startswith("[") and host.endswith("]")
    name = host[1:-1] if bracketed else host
    if bracketed and name[:5].lower() == "ipv6:":
        try:
            ipaddress.IPv6Address(name[5:])
        except ValueError as err:
            raise SaltInvocationError(f"{field}: {value!r} is not a valid IPv6 literal") from err
        return value
    if bracketed and re.fullmatch(r"[0-9.]+", name):
        try:
            ipaddress.IPv4Address(name)
        except ValueError as err:
            raise SaltInvocationError(f"{field}: {value!r} is not a valid IPv4 literal") from err
        return value
    problem = hostname_problem(name)
    if problem == "not a host name":
        raise SaltInvocationError(
            f"{field}: {value!r} is not a host name, [host name], [IPv4] or [IPv6:address] "
            "(a port goes in the port argument, not after a colon)"
        )
    if problem:
        raise SaltInvocationError(f"{field}: {value!r} {problem}")
    return value


def relays(value, field="relay"):
    """One relay or an ordered list of them (sendmail tries them in turn): a list of strings."""
    if (
        isinstance(value, (list, tuple))
        and len(value) == 1
        and isinstance(value[0], str)
        and not value[0].startswith("[")
    ):
        # YAML (pillar, and Salt's CLI) reads an unquoted [mail.example.com] as this list: taking
        # it would silently turn "no MX lookup" into an MX lookup.
        raise SaltInvocationError(
            f"{field}: got the list {list(value)!r}, which is how YAML reads an unquoted "
            f"[{value[0]}]: quote it ('[{value[0]}]'), or give the plain name for an MX lookup"
        )
    values = value if isinstance(value, (list, tuple)) and value else [value]
    return [
        relay(one, f"{field}[{number}]" if len(values) > 1 else field)
        for number, one in enumerate(values)
    ]


def optional_relays(value, field="relay"):
    """A server's smart host: none (None, empty) or relays as for :func:`relays`."""
    return [] if value is None or value in ("", []) else relays(value, field)


def path(value, field):
    """A lookup path that is pasted into an .mc: absolute, and nothing m4 or a cf line could read."""
    if (
        not isinstance(value, str)
        or not re.fullmatch(r"(/[A-Za-z0-9_.+-]+)+/?", value)
        or ("/../" in value + "/")
    ):
        raise SaltInvocationError(f"{field}: {value!r} is not a plain absolute path")
    return value


def ipv6_network(value, field):
    """
    An IPv6 network as sendmail's access map matches it: ``IPv6:`` and the leading groups of the
    address as sendmail writes a client's (every group, no ``::``, no leading zeros: measured, a
    client 2001:db8:5::31 is ``IPv6:2001:db8:5:0:0:0:0:31``), e.g. ``IPv6:2001:db8:5``. Returned
    with each group in that form (``0db8`` as ``db8``).
    """
    groups = value[5:].split(":") if value[:5].lower() == "ipv6:" else []
    if not groups or len(groups) > 8 or not all(re.fullmatch(r"[0-9a-fA-F]{1,4}", g) for g in groups):
        raise SaltInvocationError(
            f"{field}: {value!r} is not an IPv6 network such as IPv6:2001:db8:5 (the leading groups "
            "of the address, no ::)"
        )
    return "IPv6:" + ":".join(format(int(group, 16), "x") for group in groups)


def relay_domains(value, field="relay_domains"):
    """
    Domains, IPv4 network prefixes (``198.51.100``) or IPv6 networks (``IPv6:2001:db8:5``, see
    :func:`ipv6_network`) the server relays for: a list of names.
    """
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise SaltInvocationError(f"{field}: expected a list of domains, got {value!r}")
    checked = []
    for number, domain in enumerate(value):
        if isinstance(domain, str) and domain[:5].lower() == "ipv6:":
            checked.append(ipv6_network(domain, f"{field}[{number}]"))
            continue
        problem = hostname_problem(domain)
        if problem == "not a host name":
            problem = "is not a domain or network prefix"
        if problem:
            raise SaltInvocationError(f"{field}[{number}]: {domain!r} {problem}")
        checked.append(domain)
    return checked


def server_limits(value, field="limits"):
    """A server's limits: their defaults (limits_table.py) with ``value`` (a mapping of some) on top."""
    return _limits(value, field, {**limits_table.SERVER_DEFAULTS, **limits_table.QUEUE_DEFAULTS})


def queue_limits(value, field="limits"):
    """A client's limits: only the queue timeouts, each unset unless ``value`` sets it."""
    return _limits(value, field, limits_table.QUEUE_DEFAULTS)


def _limits(value, field, known):
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise SaltInvocationError(f"{field}: expected a mapping of {', '.join(known)}, got {value!r}")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise SaltInvocationError(
            f"{field}: unknown limit {', '.join(map(str, unknown))} (known: {', '.join(known)})"
        )
    checked = dict(known)
    for name, number in value.items():
        if name in limits_table.QUEUE:
            checked[name] = interval(number, f"{field}:{name}")
        elif isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise SaltInvocationError(f"{field}:{name}: {number!r} is not a whole number above 0")
        else:
            checked[name] = number
    return checked


# A local name as aliases and virtusertable take it: letters, digits and . _ + - (never a quote,
# space, colon or m4 quote, which would break the alias line or the .mc).
_LOCAL_PART_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


def masquerade_domain(value, field="masquerade_as"):
    """The domain a site's mail comes from: a dotted host name that m4 will not expand."""
    problem = hostname_problem(value) or (None if "." in value else "is not a domain (no dot)")
    if problem:
        raise SaltInvocationError(f"{field}: {value!r} {problem}")
    return value


def _alias_target(value, field):
    """An address an alias goes to: ``name@domain`` or a local ``name``."""
    if not isinstance(value, str):
        raise SaltInvocationError(f"{field}: expected an address, got {type(value).__name__} {value!r}")
    local, _, domain = value.partition("@")
    if not _LOCAL_PART_RE.fullmatch(local) or (domain and hostname_problem(domain)):
        raise SaltInvocationError(f"{field}: {value!r} is not an address such as ops@example.com")
    return value


def aliases(value, field="aliases", domain=None):
    """
    Local names and where their mail goes: ``{name: address or [addresses]}``, each target
    ``user@domain`` or a local name. Returns ``{name: [targets]}``. A name that goes to itself
    (``root: root``, or ``root@DOMAIN`` with ``domain`` the site's masquerade domain) is a loop.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SaltInvocationError(f"{field}: expected a mapping of names to addresses, got {value!r}")
    checked = {}
    for name, targets in value.items():
        if not isinstance(name, str) or not _LOCAL_PART_RE.fullmatch(name):
            raise SaltInvocationError(f"{field}: {name!r} is not a local name such as root")
        listed = targets if isinstance(targets, list) else [targets]
        if not listed:
            raise SaltInvocationError(f"{field}:{name}: no address")
        checked[name] = [_alias_target(target, f"{field}:{name}") for target in listed]
        itself = {name.lower(), f"{name}@{domain}".lower()} if domain else {name.lower()}
        if itself & {target.lower() for target in checked[name]}:
            raise SaltInvocationError(f"{field}:{name}: {name} goes to itself: a mail loop")
    return checked
