"""
A relay's settings beyond relaying, each a named pillar key with checked values, never free m4:
where it listens (``listen``: IPv4 and IPv6 addresses, ``0.0.0.0`` or ``::`` for all of one
family), its SMTP timeouts (``timeouts``: the ``confTO_*`` options by name), ``privacy_flags``
added to the role's hardening, DNS blocklists (``dnsbl``, FEATURE(enhdnsbl)), the domains it
delivers itself (``local_host_names``: class w) and the users that may set a sender
(``trusted_users``: class t). ``mc_lines`` turns the checked values into .mc lines.
"""

import ipaddress
import re

from salt.exceptions import SaltInvocationError

from . import allowlist

# The SMTP and queue timeouts a site may set, by name: confTO_<NAME>. idle (confTO_COMMAND) and
# the queue's warn and return are limits (limits_table.py).
TIMEOUTS = (
    "initial",
    "connect",
    "aconnect",
    "iconnect",
    "helo",
    "mail",
    "rcpt",
    "datainit",
    "datablock",
    "datafinal",
    "rset",
    "quit",
    "misc",
    "ident",
    "fileopen",
    "control",
    "hoststatus",
    "lhlo",
    "auth",
    "starttls",
    "resolver_retrans",
    "resolver_retry",
)
# PrivacyOptions a site may add to the role's own (goaway, noetrn, restrictqrun).
PRIVACY_FLAGS = (
    "authwarnings",
    "needmailhelo",
    "needexpnhelo",
    "needvrfyhelo",
    "noexpn",
    "novrfy",
    "noverb",
    "noreceipts",
    "nobodyreturn",
    "noactualrecipient",
    "restrictmailq",
    "restrictexpand",
)
DNSBL_KEYS = ("zone", "message", "answers", "on_timeout")
ON_TIMEOUT = ("tempfail", "accept")
DEFAULT_LISTEN = ("0.0.0.0",)  # noqa: S104 (a relay listens on the network: its role)
_DURATION = re.compile(r"(\d+[smhd])+")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_MESSAGE = re.compile(r"[245]\d\d [A-Za-z0-9 .:;()/@_+=!?-]{1,200}")


def _list(value, field):
    if value is None:
        return []
    if not isinstance(value, list):
        raise SaltInvocationError(f"{field}: expected a list, got {value!r}")
    return value


def listen(value, field="listen"):
    """The addresses to listen on (port 25): IPv4 or IPv6, each once; default every IPv4 one."""
    addresses = _list(value, field) or list(DEFAULT_LISTEN)
    checked = []
    for number, address in enumerate(addresses):
        try:
            checked.append(ipaddress.ip_address(address))
        except ValueError as err:
            raise SaltInvocationError(
                f"{field}[{number}]: {address!r} is not an IPv4 or IPv6 address (0.0.0.0, :: for all)"
            ) from err
    if len(set(checked)) != len(checked):
        raise SaltInvocationError(f"{field}: an address is listed twice")
    return [str(address) for address in checked]


def timeouts(value, field="timeouts"):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SaltInvocationError(f"{field}: expected a mapping of timeouts, got {value!r}")
    for name, duration in value.items():
        allowlist.one_of(name, TIMEOUTS, f"{field}: a timeout")
        if not isinstance(duration, str) or not _DURATION.fullmatch(duration):
            raise SaltInvocationError(f"{field}:{name}: {duration!r} is not a duration such as 5m or 0s")
    return dict(value)


def privacy_flags(value, field="privacy_flags"):
    for flag in _list(value, field):
        allowlist.one_of(flag, PRIVACY_FLAGS, f"{field}: a flag")
    return list(dict.fromkeys(_list(value, field)))


def names(value, field, user=False):
    """Domains (``local_host_names``) or user names (``trusted_users``)."""
    for number, name in enumerate(_list(value, field)):
        if user:
            if not isinstance(name, str) or not _USER.fullmatch(name):
                raise SaltInvocationError(f"{field}[{number}]: {name!r} is not a user name")
            continue
        problem = allowlist.hostname_problem(name)
        if problem:
            raise SaltInvocationError(f"{field}[{number}]: {name!r} {problem}")
    return list(_list(value, field))


def dnsbl(value, field="dnsbl"):
    """
    DNS blocklists, each ``zone``, ``message`` (the 5xx reply; default sendmail's "550 Rejected:
    ADDRESS listed at ZONE"), ``answers`` (the A records that count, default any) and
    ``on_timeout`` (``tempfail``, the default: 451, the sender retries; ``accept``).
    """
    checked = []
    for number, item in enumerate(_list(value, field)):
        where = f"{field}[{number}]"
        allowlist.mapping_of(item, DNSBL_KEYS, where, "a mapping with a zone")
        zone = item.get("zone")
        problem = allowlist.hostname_problem(zone) if zone else "is required"
        if problem:
            raise SaltInvocationError(f"{where}:zone: {zone!r} {problem}")
        message = item.get("message")
        if message is not None and (not isinstance(message, str) or not _MESSAGE.fullmatch(message)):
            raise SaltInvocationError(
                f"{where}:message: {message!r} is not a reply such as '550 5.7.1 listed' (letters, "
                "digits, spaces and . : ; ( ) / @ _ + = ! ? -)"
            )
        answers = _list(item.get("answers"), f"{where}:answers")
        for answer in answers:
            try:
                ipaddress.IPv4Address(answer)
            except ValueError as err:
                raise SaltInvocationError(f"{where}:answers: {answer!r} is not an IPv4 address") from err
        if len(answers) > 6:
            raise SaltInvocationError(f"{where}:answers: at most 6 (FEATURE(enhdnsbl) takes 6)")
        on_timeout = item.get("on_timeout", "tempfail")
        allowlist.one_of(on_timeout, ON_TIMEOUT, f"{where}:on_timeout")
        checked.append({"zone": zone, "message": message, "answers": answers, "on_timeout": on_timeout})
    return checked


def check(options):
    """Every setting of ``options`` (pillar names) checked, defaults filled in."""
    return {
        "listen": listen(options.get("listen")),
        "timeouts": timeouts(options.get("timeouts")),
        "privacy_flags": privacy_flags(options.get("privacy_flags")),
        "dnsbl": dnsbl(options.get("dnsbl")),
        "local_host_names": names(options.get("local_host_names"), "local_host_names"),
        "trusted_users": names(options.get("trusted_users"), "trusted_users", user=True),
    }


def daemon_lines(addresses):
    """One DAEMON_OPTIONS per address: ``MTA-v4`` / ``MTA-v6`` (numbered after the first)."""
    lines, seen = [], {4: 0, 6: 0}
    for text in addresses:
        version = ipaddress.ip_address(text).version
        seen[version] += 1
        name = f"MTA-v{version}" + (f"-{seen[version]}" if seen[version] > 1 else "")
        family = "inet6" if version == 6 else "inet"
        address = "" if text in ("0.0.0.0", "::") else f", Addr={text}"  # noqa: S104
        # inet6 binds v6 only (sendmail sets IPV6_V6ONLY), so 0.0.0.0 and :: go together.
        lines.append(f"DAEMON_OPTIONS(`Family={family}, Name={name}, Port=smtp{address}')dnl")
    return lines


def dnsbl_lines(lists):
    """FEATURE(enhdnsbl) per list: zone, message, ``t`` to tempfail on a DNS timeout, answers."""
    lines = []
    for item in lists:
        message = f'"{item["message"]}"' if item["message"] else ""
        answers = "".join(f", `{answer}.'" for answer in item["answers"])
        timeout = "t" if item["on_timeout"] == "tempfail" else ""
        lines.append(f"FEATURE(`enhdnsbl', `{item['zone']}', `{message}', `{timeout}'{answers})dnl")
    return lines


def mc_lines(options):
    """The .mc lines before the MAILERs (the DAEMON_OPTIONS apart: :func:`daemon_lines`)."""
    lines = [
        f"define(`confTO_{name.upper()}', `{value}')dnl" for name, value in options["timeouts"].items()
    ]
    if options["trusted_users"]:
        lines.append(f"define(`confTRUSTED_USERS', `{' '.join(options['trusted_users'])}')dnl")
    lines.extend(f"LOCAL_DOMAIN(`{name}')dnl" for name in options["local_host_names"])
    return lines + dnsbl_lines(options["dnsbl"])
