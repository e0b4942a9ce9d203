"""
A relay's mail filters (milters), in the order the site's pillar lists them: each a ``name``, a
``socket`` (``unix:/path``, ``local:/path``, ``inet:PORT@HOST``, ``inet6:PORT@HOST``), ``flags``
(default ``T``: while the milter is down the relay answers 4xx and the sender's queue keeps the
mail; ``R`` rejects it, none would pass it unfiltered) and ``timeouts`` (``connect``, ``send``,
``receive``, ``eom``: sendmail durations). ``sendmail.status`` says whether each socket of the
installed cf answers: one that does not puts mail at risk (finding ``milter-down``), it is not
drift, the role cannot start another program's daemon.
"""

import ipaddress
import re
import socket

from salt.exceptions import SaltInvocationError

from . import allowlist

KEYS = ("name", "socket", "flags", "timeouts")
FLAGS = ("T", "R", "4")
TIMEOUTS = {"connect": "C", "send": "S", "receive": "R", "eom": "E"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_DURATION = re.compile(r"(\d+[smhd])+")
PROBE_TIMEOUT = 1.0


def socket_address(value, field):
    """The ``(family, address)`` a milter socket names, or SaltInvocationError naming it."""
    kind, _, rest = value.partition(":")
    if kind in ("unix", "local"):
        return socket.AF_UNIX, allowlist.path(rest, field)
    if kind in ("inet", "inet6"):
        port, _, host = rest.partition("@")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if port.isdigit() and 0 < int(port) < 65536 and address is not None:
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if (family == socket.AF_INET6) == (kind == "inet6"):
                return family, (host, int(port))
    raise SaltInvocationError(
        f"{field}: {value!r} is not unix:/path, local:/path, inet:PORT@IPv4 or inet6:PORT@IPv6"
    )


def check(value, field="milters"):
    """The ordered list of milters, each checked; the flags default to ``T``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise SaltInvocationError(f"{field}: expected a list of milters, got {value!r}")
    checked, names = [], set()
    for number, milter in enumerate(value):
        where = f"{field}[{number}]"
        allowlist.mapping_of(milter, KEYS, where, "a mapping with name and socket")
        name = milter.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in names:
            raise SaltInvocationError(f"{where}:name: {name!r} is not a new name such as opendkim")
        names.add(name)
        if not isinstance(milter.get("socket"), str):
            raise SaltInvocationError(f"{where}:socket: required, such as inet:8891@127.0.0.1")
        socket_address(milter["socket"], f"{where}:socket")
        flags = milter.get("flags", "T")
        if not isinstance(flags, str) or len(flags) > 1 or (flags and flags not in FLAGS):
            raise SaltInvocationError(f"{where}:flags: {flags!r} is not T, R, 4 or empty")
        timeouts = milter.get("timeouts") or {}
        if not isinstance(timeouts, dict):
            raise SaltInvocationError(f"{where}:timeouts: expected a mapping, got {timeouts!r}")
        for key, duration in timeouts.items():
            if key not in TIMEOUTS or not isinstance(duration, str) or not _DURATION.fullmatch(duration):
                raise SaltInvocationError(
                    f"{where}:timeouts:{key}: {duration!r} is not a duration (10s, 5m) of "
                    f"{', '.join(TIMEOUTS)}"
                )
        checked.append({"name": name, "socket": milter["socket"], "flags": flags, "timeouts": timeouts})
    return checked


def mc_lines(milters):
    """``INPUT_MAIL_FILTER`` lines, in order (sendmail calls them in this order)."""
    lines = []
    for milter in milters:
        fields = [f"S={milter['socket']}"]
        if milter["flags"]:
            fields.append(f"F={milter['flags']}")
        if milter["timeouts"]:
            timeouts = ";".join(f"{TIMEOUTS[k]}:{v}" for k, v in milter["timeouts"].items())
            fields.append(f"T={timeouts}")
        lines.append(f"INPUT_MAIL_FILTER(`{milter['name']}', `{', '.join(fields)}')dnl")
    return lines


def in_cf(cf_text):
    """The milters a cf defines (``Xname, S=..., F=...``), in its ``InputMailFilters`` order."""
    defined = {}
    for line in (cf_text or "").splitlines():
        match = re.match(r"X(\w[\w-]*),\s*(.*)$", line)
        if match:
            fields = dict(
                part.strip().partition("=")[::2] for part in match.group(2).split(",") if "=" in part
            )
            defined[match.group(1)] = {"socket": fields.get("S", ""), "flags": fields.get("F", "")}
    order = re.search(r"^O InputMailFilters=(.*)$", cf_text or "", re.M)
    names = [name.strip() for name in order.group(1).split(",")] if order else list(defined)
    return [{"name": name, **defined[name]} for name in names if name in defined]


def answers(socket_spec, timeout=PROBE_TIMEOUT):
    """Whether something accepts a connection on the milter's socket now."""
    try:
        family, address = socket_address(socket_spec, "socket")
    except SaltInvocationError:
        return False
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(address)
        except OSError:
            return False
    return True


def report(cf_text):
    """``sendmail.status``'s milters: each with ``answers``."""
    return [{**milter, "answers": answers(milter["socket"])} for milter in in_cf(cf_text)]
