"""
See and run sendmail on a host: its version, daemons, listeners, queues, relay and vendor switches.

The pure helpers (``_parse_*``, ``_decide_*``, ``_find_*``) read text and numbers and touch nothing, so
most of the logic is tested without a machine; the public functions gather facts from the system.

Paths come from per-OS-family defaults merged with the ``sendmail:lookup`` dictionary from minion config,
grains or pillar, for sites with nonstandard layouts (``/etc/sendmail.cf``) and for tests:

.. code-block:: yaml

    sendmail:
      lookup:
        sendmail_cf: /etc/sendmail.cf
      max_queue_age: 86400
"""

import contextlib
import difflib
import glob
import heapq
import ipaddress
import logging
import mmap
import os
import pwd
import re
import selectors
import shlex
import socket
import stat
import subprocess
import tempfile
import time
import zlib

try:
    import psutil

    HAS_PSUTIL = True
except ImportError:  # pragma: no cover - psutil ships with every Salt package
    HAS_PSUTIL = False


from salt.exceptions import CommandExecutionError, SaltInvocationError

log = logging.getLogger(__name__)

__virtualname__ = "sendmail"

SMTP_PORTS = (25, 465, 587)
# The CIS "MTA local-only" rule names exactly these two addresses.
LOCAL_ONLY_ADDRESSES = ("127.0.0.1", "::1")
DEFAULT_MAX_QUEUE_AGE = 86400
_DEFAULT_CF_M4 = "/usr/share/sendmail/cf/m4/cf.m4"
VERSION_PROBE_TIMEOUT = 5

_BASE_DEFAULTS = {
    "sendmail_bin": "/usr/sbin/sendmail",
    "sendmail_cf": "/etc/mail/sendmail.cf",
    "submit_cf": "/etc/mail/submit.cf",
    "mta_queue_dir": "/var/spool/mqueue",
    "msp_queue_dir": "/var/spool/clientmqueue",
    # Tables whose lines carry a user field, then the directory of per-user crontabs.
    "cron_tables": ["/etc/crontab", "/etc/cron.d"],
    "user_crontabs": "/var/spool/cron/crontabs",
    "hosts_file": "/etc/hosts",
    "systemd_dir": "/etc/systemd/system",
    "switch_files": {},
    "cf_m4": _DEFAULT_CF_M4,
    "mc_ostype": None,
    "msp_domain": None,
    "mta_domain": None,
    # Debian's tool that applies sendmail.conf (None elsewhere, or to not run it).
    "debian_update_conf": None,
    # Set only where the .mc must name them (tests); otherwise the vendor's DOMAIN() decides.
    "mta_pid_file": None,
    "msp_pid_file": None,
    # Seconds `sendmail -C new.cf -bt` may take before the new cf counts as refused.
    "validate_timeout": 30,
    # Seconds the daemons may take to start or stop before the services step fails.
    "services_timeout": 15,
    # status sums queue bytes (one stat per file) only up to this many messages per directory.
    "status_bytes_limit": 10000,
}

_OS_FAMILY_DEFAULTS = {
    "Debian": {
        "msp_queue_dir": "/var/spool/mqueue-client",
        "mc_ostype": "debian",
        "msp_domain": "debian-msp",
        "mta_domain": "debian-mta",
        "sysv_rc_dir": "/etc/rc2.d",
        "debian_update_conf": "/usr/share/sendmail/update_conf",
        "switch_files": {"debian": "/etc/mail/sendmail.conf"},
    },
    "RedHat": {
        "user_crontabs": "/var/spool/cron",
        "cf_m4": "/usr/share/sendmail-cf/m4/cf.m4",
        "mc_ostype": "linux",
        "switch_files": {"redhat": "/etc/sysconfig/sendmail"},
    },
    "Solaris": {
        "sendmail_bin": "/usr/lib/sendmail",
        "cf_m4": "/etc/mail/cf/m4/cf.m4",
        "mc_ostype": "solaris8",
        "switch_files": {"solaris": "/etc/default/sendmail"},
    },
    "FreeBSD": {
        "user_crontabs": "/var/cron/tabs",
        "cf_m4": "/usr/share/sendmail/cf/m4/cf.m4",
        "mc_ostype": "freebsd6",
        "switch_files": {"freebsd": ["/etc/defaults/rc.conf", "/etc/rc.conf", "/etc/rc.conf.local"]},
    },
}

# sendmail's queue ids start with six characters of this alphabet: year % 60, month, day, hour,
# minute, second of the creation time (sendmail/queue.c, QueueIdChars).
_QUEUE_ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
_QUEUE_ID_VALUE = {char: value for value, char in enumerate(_QUEUE_ID_CHARS)}

# First characters of the lines readcf() accepts; anything else is "unknown configuration line".
_CF_LINE_COMMANDS = frozenset("#\t CDEFHKLMOPQRSTVX")

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PROCESS_NAMES = frozenset(("sendmail", "sendmail-mta", "sendmail-msp"))
# Each queue: its name, the cf that names its directory, the lookup key of its default directory,
# and the sendmail mode that runs it.
_QUEUES = (
    ("mta", "sendmail_cf", "mta_queue_dir", "-Am"),
    ("msp", "submit_cf", "msp_queue_dir", "-Ac"),
)

# Values pasted into an .mc are rescanned by m4 (SMART_HOST and FEATURE(msp) even twice), so quoting
# is no defense: only these forms are accepted. A label that m4 or cf.m4 would expand is refused too.
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
_RELAY_MAILERS = ("esmtp", "relay", "smtp")
_M4_WORDS = frozenset(
    """builtin changecom changequote debugfile debugmode decr define defn divert divnum dnl dumpdef
    errprint esyscmd eval format ifdef ifelse include incr index indir len m4exit m4wrap maketemp
    mkstemp patsubst popdef pushdef regexp shift sinclude substr syscmd sysval traceoff traceon
    translit undefine undivert DOMAIN FEATURE HACK MAILER OSTYPE SITECONFIG VERSIONID""".split()  # noqa: SIM905
)


def __virtual__():
    if not HAS_PSUTIL:
        return (False, "the sendmail module needs the psutil library")
    return __virtualname__


# ---------------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------------


def _merge_lookup(os_family, overrides):
    """Return the paths for ``os_family`` with ``overrides`` (the ``sendmail:lookup`` dict) on top."""
    paths = dict(_BASE_DEFAULTS)
    paths.update(_OS_FAMILY_DEFAULTS.get(os_family, {}))
    paths.update(overrides or {})
    return paths


def _parse_version(text):
    """Return the version tuple of ``"8.17.1.9"``, or None when it is not a dotted number."""
    if not text or not re.fullmatch(r"\d+(\.\d+)*", text):
        return None
    return tuple(int(part) for part in text.split("."))


def _duration_seconds(text, default_unit="m"):
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


def _parse_cf(text):
    """
    Read a sendmail.cf or submit.cf: macros (``D`` lines), options (``O`` lines, a repeated option
    as a list), mailers (``M`` lines with their ``A=`` argv) and the problems readcf() would stop on.
    """
    macros, options, mailers, problems, repeated = {}, {}, {}, [], set()
    version_level = None
    current_mailer = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        head = line[0]
        if head not in _CF_LINE_COMMANDS:
            problems.append(f"line {number}: unknown configuration line {line[:40]!r}")
            continue
        if head in "\t ":
            if current_mailer is not None:
                mailers[current_mailer] += " " + line.strip()
            continue
        current_mailer = None
        if head == "D" and len(line) > 1:
            if line[1] == "{":
                name, _, value = line[2:].partition("}")
            else:
                name, value = line[1], line[2:]
            if name in macros:
                repeated.add(name)
            macros[name] = value
        elif head == "O":
            name, _, value = line[1:].strip().partition("=")
            options.setdefault(name.strip(), []).append(value.strip())
        elif head == "M":
            name = line[1:].split(",", 1)[0].strip()
            mailers[name] = line
            current_mailer = name
        elif head == "V":
            version_level = line[1:].split("/", 1)[0]
    if "local" not in mailers:
        problems.append("No local mailer defined")
    mailer_args = {}
    for name, definition in mailers.items():
        match = re.search(r"\bA=(.*?)\s*(?:,\s*[A-Z]=|$)", definition)
        mailer_args[name] = match.group(1).split() if match else []
    return {
        "macros": macros,
        "options": {name: values[-1] for name, values in options.items()},
        "all_options": options,
        "mailer_args": mailer_args,
        "version_level": version_level,
        "repeated_macros": sorted(repeated),
        "problems": problems,
    }


def _split_relay(value):
    """Split a relay value such as ``esmtp:[mail.example.com]`` into (mailer, host)."""
    value = (value or "").strip()
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_-]*):(.+)", value)
    # "[IPv6:2001:db8::1]" has colons but no mailer prefix.
    if match and not value.startswith("["):
        return match.group(1), match.group(2)
    return None, value or None


def _is_local_host(host, hostnames=()):
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


def _relay_port(mailer_args, default=25):
    """The port in a mailer's ``A=TCP $h 587`` argv, else ``default``."""
    if len(mailer_args) >= 3 and mailer_args[0] == "TCP" and mailer_args[2].isdigit():
        return int(mailer_args[2])
    return default


def _parse_shell_vars(text):
    """
    Read ``KEY="value"`` assignments the way sh would for the plain files vendors use (Debian's
    sendmail.conf, /etc/sysconfig/sendmail, /etc/default/sendmail, rc.conf), expanding ``${KEY}``
    from earlier assignments. Commands, conditionals and functions are not run: they are skipped.
    """
    values = {}
    pattern = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)")
    for line in text.splitlines():
        match = pattern.fullmatch(line)
        if not match:
            continue
        name, rest = match.groups()
        try:
            words = shlex.split(rest.rstrip().rstrip(";"), comments=True)
        except ValueError:
            continue
        value = words[0] if words else ""
        values[name] = re.sub(
            r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda ref: values.get(ref.group(1), ""), value
        )
    return values


def _queue_id_time(queue_id, now):
    """
    The creation time (epoch seconds) encoded in a queue id's first six characters, read as local
    time, taking the latest year (of the 60-year cycle) not after ``now``. None if it is no queue id.
    """
    if len(queue_id) < 8:
        return None
    try:
        year60, month, day, hour, minute, second = (_QUEUE_ID_VALUE[c] for c in queue_id[:6])
    except KeyError:
        return None
    if month > 11 or not 1 <= day <= 31 or hour > 23 or minute > 59 or second > 60:
        return None
    this_year = time.localtime(now).tm_year
    year = this_year - ((this_year - 1900 - year60) % 60)
    try:
        created = time.mktime((year, month + 1, day, hour, minute, second, 0, 0, -1))
    except (OverflowError, ValueError):
        return None
    if created > now + 86400:  # a clock step: the id is from the previous cycle
        created = time.mktime((year - 60, month + 1, day, hour, minute, second, 0, 0, -1))
    return created


def _parse_qf(data):
    """Read a qf file's bytes: sender, recipients, creation and last-try times, tries, reason."""
    message = {
        "sender": None,
        "recipients": [],
        "created": None,
        "last_try": None,
        "tries": 0,
        "reason": None,
    }
    for raw in data.split(b"\n"):
        if not raw:
            continue
        if raw[:1] == b".":
            break
        kind, value = raw[:1], raw[1:].decode("utf-8", "replace")
        if kind == b"S":
            message["sender"] = value
        elif kind == b"R":
            # "RPFD:user@example.com": flags, colon, address.
            message["recipients"].append(value.split(":", 1)[-1])
        elif kind == b"T" and value.isdigit():
            message["created"] = int(value)
        elif kind == b"K" and value.isdigit():
            message["last_try"] = int(value)
        elif kind == b"N" and value.isdigit():
            message["tries"] = int(value)
        elif kind == b"M":
            message["reason"] = value
    return message


def _parse_title(title):
    """
    Classify a sendmail process by its title: ``sendmail: MTA: accepting connections``,
    ``sendmail: MSP: Queue runner@00:15:00 for /var/spool/mqueue-client``...
    """
    kind, accepting, interval, queue_dir = "other", False, None, None
    if "accepting connections" in title:
        kind, accepting = "mta", True
    runner = re.search(r"\b(MTA|MSP): Queue runner@(\d+:\d{2}:\d{2}) for (\S+)", title)
    if runner:
        kind = "msp-queue-runner" if runner.group(1) == "MSP" else "mta-queue-runner"
        interval = _duration_seconds(runner.group(2))
        queue_dir = runner.group(3)
    return {"kind": kind, "accepting": accepting, "interval": interval, "queue_dir": queue_dir}


def _argv_queue_interval(argv):
    """The interval of ``-q15m`` / ``-qp15m`` in a sendmail argv, in seconds (None if absent)."""
    for word in argv:
        match = re.fullmatch(r"-qp?(\w+)", word)
        if match:
            return _duration_seconds(match.group(1))
    return None


def _is_exposed(address):
    """True when a listener on ``address`` is reachable from other hosts (CIS local-only rule)."""
    return address not in LOCAL_ONLY_ADDRESSES


def _parse_cron_runners(text, source, has_user_field):
    """
    The queue flushes in one crontab: ``sendmail -q`` (MTA), ``sendmail -Ac -q`` (MSP) and Debian's
    ``/usr/share/sendmail/sendmail cron-mta|cron-msp`` wrapper. Returns one dict per active line.
    """
    runners = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or re.match(r"[A-Za-z_]+=", line):
            continue
        fields = line.split(None, 6 if has_user_field else 5)
        if line.startswith("@"):
            fields = [fields[0], *line.split(None, 2 if has_user_field else 1)[1:]]
            schedule_len = 1
        else:
            schedule_len = 5
        if len(fields) < schedule_len + (2 if has_user_field else 1):
            continue
        schedule = " ".join(fields[:schedule_len])
        user = fields[schedule_len] if has_user_field else None
        command = fields[-1]
        queue = None
        wrapper = re.search(r"/sendmail\s+cron-(msp|mta)\b", command)
        if wrapper:
            queue = wrapper.group(1)
        elif re.search(r"(^|[\s/;&|])sendmail\b[^;&|]*\s-q", command):
            queue = "msp" if re.search(r"\s-Ac\b", command) else "mta"
        if queue:
            runners.append(
                {
                    "type": "cron",
                    "queue": queue,
                    "source": source,
                    "schedule": schedule,
                    "user": user,
                    "command": command,
                }
            )
    return runners


def _hostname_qualified(hostname, hosts_text):
    """True when sendmail can find a dotted name for ``hostname`` (itself, or /etc/hosts)."""
    if "." in hostname:
        return True
    for line in hosts_text.splitlines():
        names = line.split("#", 1)[0].split()[1:]
        if hostname in names and "." in names[0]:
            return True
    return False


def _queue_dir_problems(mode, queue):
    """What is unsafe in a queue directory's mode (sendmail/SECURITY): world access, MTA group write."""
    problems = []
    if mode & 0o007:
        problems.append(f"accessible to all users (mode {stat.S_IMODE(mode):04o})")
    if queue == "mta" and mode & 0o020:
        problems.append(f"group-writable MTA queue (mode {stat.S_IMODE(mode):04o})")
    return problems


def _decide_role(provider, listeners, relay_configured):
    """What the host behaves as, from what listens and where mail goes."""
    if provider == "none":
        return "off"
    if provider != "sendmail":
        return "unknown"
    if any(listener["exposed"] for listener in listeners):
        return "server"
    if listeners:
        return "local-only"
    return "client" if relay_configured else "off"


def _finding(finding_id, severity, message):
    return {"id": finding_id, "severity": severity, "message": message}


def _find_problems(report, max_queue_age):
    """The list of findings for a status report (see :func:`status`)."""
    findings = []
    if report["provider"] != "sendmail":
        return findings
    if not report["hostname_qualified"]:
        findings.append(
            _finding(
                "hostname-unqualified",
                "medium",
                f"hostname {report['hostname']!r} has no domain: every sendmail run sleeps 60 s "
                "('unqualified host name ... sleeping for retry')",
            )
        )
    for cf in report["cf"].values():
        if cf["problems"]:
            findings.append(
                _finding(
                    "cf-invalid",
                    "high",
                    f"{cf['path']} cannot be loaded: {'; '.join(cf['problems'])}",
                )
            )
    for listener in report["listeners"]:
        if listener["exposed"]:
            findings.append(
                _finding(
                    "exposed-listener",
                    "high",
                    f"{listener['process'] or 'a process'} listens on "
                    f"{listener['address']} port {listener['port']}: reachable from the network",
                )
            )
    for name, queue in report["queues"].items():
        if queue["count"] and not queue["runners"]:
            findings.append(
                _finding(
                    "queue-stranded",
                    "high",
                    f"{queue['count']} message(s) in the {name.upper()} queue and nothing flushes "
                    "it (no queue-runner daemon, no cron entry)",
                )
            )
        if queue["oldest_age"] is not None and queue["oldest_age"] > max_queue_age:
            findings.append(
                _finding(
                    "queue-old-message",
                    "medium",
                    f"the oldest message in the {name.upper()} queue is "
                    f"{queue['oldest_age'] // 3600} h old (threshold {max_queue_age // 3600} h)",
                )
            )
        for directory in queue["directories"]:
            for problem in directory["problems"]:
                findings.append(
                    _finding(
                        "queue-unsafe-permissions",
                        "high",
                        f"queue directory {directory['path']}: {problem}",
                    )
                )
    relay = report["relay"]
    if report["msp_split"] and relay["msp_local"]:
        port = relay["msp_port"]
        reachable = any(
            listener["port"] == port and listener["address"] in ("0.0.0.0", "::", "127.0.0.1", "::1")  # noqa: S104
            for listener in report["listeners"]
        )
        if not reachable:
            findings.append(
                _finding(
                    "msp-to-dead-mta",
                    "high",
                    f"submit.cf hands mail to {relay['msp']} port {port} but no local MTA "
                    "listens there: every new message will wait in the MSP queue",
                )
            )
    return findings


def _validate_relay(value, field="relay"):
    """
    One relay, checked against the allowlist: ``host.example.com`` (MX lookup),
    ``[host.example.com]`` (no MX lookup), ``[192.0.2.1]``, ``[IPv6:2001:db8::25]``, each optionally
    prefixed by ``esmtp:``, ``relay:`` or ``smtp:``. Returns it unchanged; raises
    SaltInvocationError naming ``field`` otherwise.
    """
    if not isinstance(value, str):
        # YAML turns an unquoted [host] into a list, "no" into False and an empty value into None.
        raise SaltInvocationError(
            f"{field}: expected a host name string, got {type(value).__name__} {value!r} "
            "(quote it in YAML: '[mail.example.com]')"
        )
    mailer, host = _split_relay(value)
    if value != value.strip() or not host:
        raise SaltInvocationError(f"{field}: {value!r} is not a relay host")
    if mailer is not None and mailer not in _RELAY_MAILERS:
        raise SaltInvocationError(
            f"{field}: mailer {mailer!r} in {value!r} is not one of {', '.join(_RELAY_MAILERS)}"
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
    problem = _hostname_problem(name)
    if problem == "not a host name":
        raise SaltInvocationError(
            f"{field}: {value!r} is not a host name, [host name], [IPv4] or [IPv6:address] "
            "(a port goes in the port argument, not after a colon)"
        )
    if problem:
        raise SaltInvocationError(f"{field}: {value!r} {problem}")
    return value


def _hostname_problem(name):
    """What keeps ``name`` out of an .mc as a host or domain name, or None."""
    if not isinstance(name, str) or len(name) > 253 or not _HOSTNAME_RE.fullmatch(name):
        return "not a host name"
    if any(label in _M4_WORDS for label in name.split(".")):
        return "contains an m4 word that m4 would expand"
    return None


def _validate_relays(value, field="relay"):
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
    relays = value if isinstance(value, (list, tuple)) and value else [value]
    return [_validate_relay(relay, f"{field}[{number}]" if len(relays) > 1 else field)
            for number, relay in enumerate(relays)]  # fmt: skip


def _optional_relays(value, field="relay"):
    """A server's smart host: none (None, empty) or relays as for :func:`_validate_relays`."""
    return [] if value is None or value in ("", []) else _validate_relays(value, field)


def _validate_port(value, field="port"):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SaltInvocationError(f"{field}: expected a port number, got {value!r}")
    if isinstance(value, str) and not value.isdigit():
        raise SaltInvocationError(f"{field}: {value!r} is not a port number")
    if not 1 <= int(value) <= 65535:
        raise SaltInvocationError(f"{field}: {value} is not between 1 and 65535")
    return int(value)


def _validate_interval(value, field="interval"):
    if not isinstance(value, str) or _duration_seconds(value, default_unit="m") in (None, 0):
        raise SaltInvocationError(
            f"{field}: {value!r} is not a sendmail duration such as 15m, 1h or 1h30m"
        )
    if not re.fullmatch(r"(\d+[smhdw])+", value):
        raise SaltInvocationError(f"{field}: {value!r} needs a unit (s, m, h, d or w)")
    return value


def _relay_host_list(relays):
    """The colon-separated host list sendmail fails over along, mailer prefixes dropped."""
    return ":".join(_split_relay(relay)[1] for relay in relays)


def _smart_host(relays):
    """
    The ``DS`` value (SMART_HOST, FEATURE(nullclient)) for ``relays``: one relay as given; a list as
    ``mailer:host1:host2`` with an explicit mailer, so that a one-label first host is never read as
    a mailer name.
    """
    if not relays:
        return ""
    if len(relays) == 1:
        return relays[0]
    mailer = _split_relay(relays[0])[0] or "relay"
    return f"{mailer}:{_relay_host_list(relays)}"


def _validate_path(value, field):
    """A lookup path that is pasted into an .mc: absolute, and nothing m4 or a cf line could read."""
    if (
        not isinstance(value, str)
        or not re.fullmatch(r"(/[A-Za-z0-9_.+-]+)+/?", value)
        or ("/../" in value + "/")
    ):
        raise SaltInvocationError(f"{field}: {value!r} is not a plain absolute path")
    return value


def _validate_relay_domains(value, field="relay_domains"):
    """Domains or IPv4 network prefixes (``198.51.100``) the server relays for: a list of names."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise SaltInvocationError(f"{field}: expected a list of domains, got {value!r}")
    for number, domain in enumerate(value):
        problem = _hostname_problem(domain)
        if problem == "not a host name":
            problem = "is not a domain or network prefix"
        if problem:
            raise SaltInvocationError(f"{field}[{number}]: {domain!r} {problem}")
    return list(value)


# Hardened defaults of the server role (DISA STIG GEN004660/GEN004680: no EXPN/VRFY, GEN004560: no
# version in the greeting, GEN004440: LogLevel 9); restrictqrun keeps users from running the queue.
_SERVER_HARDENING = (
    "define(`confPRIVACY_FLAGS', `goaway,noetrn,restrictqrun')dnl",
    "define(`confSMTP_LOGIN_MSG', `$j MTA ready; $b')dnl",
    "define(`confLOG_LEVEL', `9')dnl",
)


def _render_mc(kind, relays, port=None, cf_m4=_DEFAULT_CF_M4, ostype=None, domain=None, **more):
    """
    The .mc text for ``kind``: ``msp`` (submit.mc of a client, FEATURE(msp)), ``nullclient``
    (sendmail.mc that sends everything to the relay) or ``server`` (a listening, hardened
    sendmail.mc, ``relays`` being its optional smart host). Values must already be validated.
    ``more`` may hold ``queue_dir``, ``pid_file`` and (server) ``relay_domains``.
    """
    if kind not in ("msp", "nullclient", "server"):
        raise SaltInvocationError(f"kind must be 'msp', 'nullclient' or 'server', not {kind!r}")
    lines = [
        "divert(-1)dnl",
        f"# Managed by Salt (saltext-sendmail): {kind} configuration. Local edits are replaced.",
        "divert(0)dnl",
        f"include(`{cf_m4}')dnl",
        # Defense in depth: no value can run a command even if it got past the allowlist.
        "undefine(`esyscmd')undefine(`syscmd')dnl",
    ]
    if ostype:
        lines.append(f"OSTYPE(`{ostype}')dnl")
    if domain:
        lines.append(f"DOMAIN(`{domain}')dnl")
    # After DOMAIN, which sets the vendor's own paths.
    if more.get("queue_dir"):
        macro = "MSP_QUEUE_DIR" if kind == "msp" else "QUEUE_DIR"
        lines.append(f"define(`{macro}', `{more['queue_dir']}')dnl")
    if more.get("pid_file"):
        lines.append(f"define(`confPID_FILE', `{more['pid_file']}')dnl")
    if port and relays:
        lines.append(f"define(`RELAY_MAILER_ARGS', `TCP $h {port}')dnl")
        if kind != "msp":
            lines.append(f"define(`ESMTP_MAILER_ARGS', `TCP $h {port}')dnl")
    if kind == "msp":
        lines.append(f"FEATURE(`msp', `{_relay_host_list(relays)}')dnl")
    elif kind == "nullclient":
        lines.append(f"FEATURE(`nullclient', `{_smart_host(relays)}')dnl")
    else:
        lines.extend(_SERVER_HARDENING)
        if relays:
            lines.append(f"define(`SMART_HOST', `{_smart_host(relays)}')dnl")
        lines.append("FEATURE(`no_default_msa')dnl")
        lines.append("DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=smtp')dnl")
        lines.extend(f"RELAY_DOMAIN(`{name}')dnl" for name in more.get("relay_domains") or ())
        lines.append("MAILER(`local')dnl")
        lines.append("MAILER(`smtp')dnl")
    return "\n".join(lines) + "\n"


def _check_built_cf(kind, parsed, relays, port=None):
    """
    Read a built cf (parsed by :func:`_parse_cf`) back: its relay must be exactly the one asked
    for, a client cf must not listen on the network and a server cf must listen, hardened. Catches
    what m4 and ``sendmail -bt`` both accept (an injected line). Returns a list of problems.
    """
    problems = list(parsed["problems"])
    listeners = parsed["all_options"].get("DaemonPortOptions", [])
    if kind == "msp":
        hosts = _relay_host_list(relays)
        if parsed["macros"].get("MTAHost") != hosts:
            problems.append(f"D{{MTAHost}} is {parsed['macros'].get('MTAHost')!r}, not {hosts!r}")
        if _relay_port(parsed["mailer_args"].get("relay", [])) != (port or 25):
            problems.append(f"the relay mailer does not use port {port or 25}")
        if any("NoMTA" not in value or "127.0.0.1" not in value for value in listeners):
            problems.append(f"submit.cf would listen: DaemonPortOptions {listeners}")
    else:
        expected = _smart_host(relays)
        if parsed["macros"].get("S", "") != expected:
            problems.append(f"DS is {parsed['macros'].get('S')!r}, not {expected!r}")
        if relays and port and _relay_port(parsed["mailer_args"].get("relay", [])) != port:
            problems.append(f"the relay mailer does not use port {port}")
    if kind == "server":
        if not listeners:
            problems.append("sendmail.cf of a server has no DaemonPortOptions: it would not listen")
        privacy = parsed["options"].get("PrivacyOptions", "")
        if "goaway" not in privacy:
            problems.append(f"PrivacyOptions is {privacy!r}, without goaway")
        greeting = parsed["options"].get("SmtpGreetingMessage", "")
        if "$v" in greeting or "$Z" in greeting:
            problems.append(f"the SMTP greeting {greeting!r} shows the version")
    if parsed["repeated_macros"]:
        problems.append(f"macros defined more than once: {', '.join(parsed['repeated_macros'])}")
    return problems


# Each vendor's daemon switch: how its file writes a value, and the values of each role.
_SWITCH_STYLES = {"debian": '{key}="{value}";', "redhat": "{key}={value}"}
_ROLES = ("client", "server")
_MSP_RUNNERS = ("daemon", "cron")


def _switch_values(kind, role, queue_interval, msp_interval, msp_runner):
    """
    The variables a vendor switch file must hold for ``role``. A client's MTA is off (its queue, if
    not empty, is run by cron: see :func:`cron_runner`); the MSP queue keeps the vendor's runner
    unless ``msp_runner`` is ``cron``. FreeBSD's ``NONE`` is never used: it stops the MSP runner too.
    """
    client = role == "client"
    msp_daemon = msp_runner == "daemon"
    if kind == "debian":
        values = {"DAEMON_MODE": "None" if client else "Daemon"}
        values["QUEUE_MODE"] = "None" if client else "Daemon"
        if not client:
            values["QUEUE_INTERVAL"] = queue_interval
        values["MSP_MODE"] = "Daemon" if msp_daemon else "None"
        values["MSP_INTERVAL"] = msp_interval
        return values
    if kind == "redhat":
        # The init scripts honour these; the systemd units do not (see :func:`services`).
        return {"DAEMON": "no" if client else "yes", "QUEUE": queue_interval, "SMQUEUE": msp_interval}
    if kind == "solaris":
        return {
            "MODE": "" if client else "-bd",
            "QUEUEINTERVAL": queue_interval,
            "CLIENTQUEUEINTERVAL": msp_interval,
        }
    if kind == "freebsd":
        return {
            "sendmail_enable": "NO" if client else "YES",
            "sendmail_submit_enable": "NO",
            "sendmail_outbound_enable": "NO",
            "sendmail_flags": f"-L sm-mta -bd -q{queue_interval}",
            "sendmail_msp_queue_enable": "YES" if msp_daemon else "NO",
            "sendmail_msp_queue_flags": f"-L sm-msp-queue -Ac -q{msp_interval}",
        }
    raise SaltInvocationError(f"no daemon switch is known for {kind!r} files")


def _switch_differs(kind, key, current, wanted):
    if current is None:
        return True
    if kind == "debian" and key.endswith("_MODE"):
        return current.lower() != wanted.lower()
    if kind == "freebsd" and key.endswith("_enable"):
        return current.upper() != wanted.upper()
    return current != wanted


def _set_shell_vars(text, values, style='{key}="{value}"'):
    """
    ``text`` with each ``KEY=...`` assignment of ``values`` replaced in place (every uncommented
    occurrence, so that no later line overrides it) and the missing ones appended. Comments, order
    and every other line stay as they are. Values must already be validated (no quotes or newlines).
    """
    lines = text.splitlines() if text else []
    seen = set()
    for number, line in enumerate(lines):
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", line)
        if match and match.group(1) in values:
            key = match.group(1)
            lines[number] = style.format(key=key, value=values[key])
            seen.add(key)
    lines.extend(style.format(key=key, value=value) for key, value in values.items() if key not in seen)
    return "\n".join(lines) + "\n"


def _cron_schedule(interval, minion_id, field="interval"):
    """
    The (minute, hour) cron fields that run every ``interval`` at an offset taken from the minion
    id, so that a fleet does not flush its queues in the same minute. The interval must divide an
    hour (in minutes) or a day (in hours): cron cannot space anything else evenly.
    """
    seconds = _duration_seconds(interval, default_unit="m")
    # zlib.crc32 rather than hash(): Python salts str hashes per process; this must be stable.
    spread = zlib.crc32(str(minion_id).encode())
    if seconds and seconds % 60 == 0 and 60 % (seconds // 60) == 0:
        step = seconds // 60
        return ",".join(str(spread % step + minute) for minute in range(0, 60, step)), "*"
    if seconds and seconds % 3600 == 0 and 24 % (seconds // 3600) == 0:
        step = seconds // 3600
        return str(spread % 60), ",".join(str(spread % step + hour) for hour in range(0, 24, step))
    raise SaltInvocationError(
        f"{field}: cron cannot run every {interval} evenly: use a divisor of an hour "
        "(1m ... 30m, 1h) or of a day (2h, 3h, 4h, 6h, 8h, 12h, 24h)"
    )


def _role_problems(role, relays, msp_runner, hostnames):
    """How applying ``role`` with these values would strand mail: a list of plain sentences."""
    problems = []
    if role == "client":
        for relay in relays:
            host = _split_relay(relay)[1]
            if _is_local_host(host, hostnames):
                problems.append(
                    f"relay {relay} is this host: with the MTA off, the MSP would queue every message "
                    "for a daemon that is not there"
                )
    elif any(_is_local_host(_split_relay(relay)[1], hostnames) for relay in relays):
        problems.append("the smart host of a server must be another host: mail would loop")
    if msp_runner not in _MSP_RUNNERS:
        problems.append(
            f"msp_runner {msp_runner!r}: the MSP queue needs a runner ({' or '.join(_MSP_RUNNERS)})"
        )
    return problems


# ---------------------------------------------------------------------------------------------------
# Reading the system
# ---------------------------------------------------------------------------------------------------


def _paths():
    os_family = __grains__.get("os_family", "")
    overrides = __salt__["config.get"]("sendmail:lookup", {})
    return _merge_lookup(os_family, overrides)


def _read_text(path):
    """A file's text, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _load_cf(path):
    """Parse one cf file; a missing, unreadable or empty file gives a result with its problem."""
    text = _read_text(path)
    parsed = _parse_cf(text or "")
    if text is None:
        parsed["problems"] = ["missing or unreadable"]
    elif not text.strip():
        parsed["problems"] = ["empty"]
    parsed["path"] = path
    parsed["exists"] = text is not None
    return parsed


def _binary_provider(path):
    """
    Which MTA a sendmail binary belongs to, read from its name and bytes (no process run):
    postfix's and exim's sendmail must not be run with sendmail's flags.
    """
    real = os.path.realpath(path)
    name = os.path.basename(real)
    for provider in ("exim", "postfix"):
        if provider in name:
            return provider
    try:
        with (
            open(real, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            if data.find(b"MAIL_CONFIG") != -1 or data.find(b"postfix") != -1:
                return "postfix"
            if data.find(b"Exim version") != -1 or data.find(b"exim_path") != -1:
                return "exim"
    except (OSError, ValueError):
        return None
    return None


def _probe_version(binary, timeout=VERSION_PROBE_TIMEOUT):
    """
    Run ``sendmail -d0.1 -bt`` and stop it once it has printed ``Version x.y.z``. Not
    cmd.run_all: sendmail prints the version first and then may sleep 60 s on an unqualified
    hostname, so the process is read line by line and killed instead of waited for.
    """
    try:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [binary, "-d0.1", "-bt"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
            start_new_session=True,
        )
    except OSError:
        return None
    output = b""
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    break
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                output += chunk
                match = re.search(rb"Version (\S+)\s", output)
                if match:
                    return match.group(1).decode("ascii", "replace")
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    return None


def _version_info(paths):
    binary = paths["sendmail_bin"]
    info = {"binary": binary, "installed": False, "provider": "none", "version": None}
    if not os.path.exists(binary):
        return info
    info["installed"] = True
    provider = _binary_provider(binary)
    if provider:
        info["provider"] = provider
        return info
    st = os.stat(binary)
    cache_key = (
        "sendmail.version",
        os.path.realpath(binary),
        st.st_ino,
        st.st_mtime_ns,
        st.st_size,
    )
    if cache_key not in __context__:
        __context__[cache_key] = _probe_version(binary)
    version_text = __context__[cache_key]
    info["provider"] = "sendmail" if version_text else "other"
    info["version"] = version_text
    return info


def _msp_split(version_text):
    parsed = _parse_version(version_text)
    return bool(parsed and parsed >= (8, 12))


def _pidfile_argv(cf_list):
    """pid -> argv from the PidFile each cf names (sendmail writes its pid, then its command line)."""
    argv_by_pid = {}
    for cf in cf_list:
        pidfile = cf["options"].get("PidFile")
        text = _read_text(pidfile) if pidfile else None
        if not text:
            continue
        lines = text.splitlines()
        if lines and lines[0].strip().isdigit():
            argv_by_pid[int(lines[0])] = lines[1].split() if len(lines) > 1 else []
    return argv_by_pid


def _sendmail_daemons(argv_by_pid):
    daemons = []
    for proc in psutil.process_iter(["pid", "name", "username", "cmdline", "status"]):
        info = proc.info
        if info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = [word for word in (info["cmdline"] or []) if word]
        title = " ".join(cmdline)
        if info["name"] not in _PROCESS_NAMES and not title.startswith("sendmail:"):
            continue
        parsed = _parse_title(title)
        interval = parsed["interval"]
        if interval is None:
            interval = _argv_queue_interval(argv_by_pid.get(info["pid"], cmdline))
        daemons.append(
            {
                "pid": info["pid"],
                "user": info["username"],
                "kind": parsed["kind"],
                "accepting": parsed["accepting"],
                "interval": interval,
                "queue_dir": parsed["queue_dir"],
                "title": title,
            }
        )
    return daemons


def _listeners():
    names = {}
    found = []
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or conn.laddr.port not in SMTP_PORTS:
            continue
        process = None
        if conn.pid:
            if conn.pid not in names:
                try:
                    names[conn.pid] = psutil.Process(conn.pid).name()
                except psutil.Error:
                    names[conn.pid] = None
            process = names[conn.pid]
        found.append(
            {
                "address": conn.laddr.ip,
                "port": conn.laddr.port,
                "pid": conn.pid,
                "process": process,
                "exposed": _is_exposed(conn.laddr.ip),
            }
        )
    return sorted(found, key=lambda entry: (entry["port"], entry["address"]))


def _queue_dirs(cf, default):
    """The directories a cf's QueueDirectory names (``q*`` wildcards expanded)."""
    pattern = cf["options"].get("QueueDirectory") or default
    if any(char in pattern for char in "*?["):
        return sorted(glob.glob(pattern)) or [pattern]
    return [pattern]


def _this_year_char(now):
    return _QUEUE_ID_CHARS[(time.localtime(now).tm_year - 1900) % 60]


def _age_order(now):
    """
    A sort key putting qf names oldest first without decoding them: the id alphabet is in ASCII
    order, so within one 60-year cycle a smaller name is older; names whose year character is past
    this year's belong to the previous cycle and come first.
    """
    this_year = _this_year_char(now)
    return lambda name: (name[2:3] <= this_year, name)


def _oldest_created(qf_names, qf_dir, now):
    """
    The creation time of the oldest message, from names alone (one decode). Same order as
    :func:`_age_order`, but plain string comparisons: a key call per name costs 50 ms at 100,000.
    """
    if not qf_names:
        return None
    this_year = _this_year_char(now)
    previous_cycle = [name for name in qf_names if name[2:3] > this_year]
    created = _queue_id_time(min(previous_cycle or qf_names)[2:], now)
    if created is not None:
        return created
    # A name that is no queue id sorted first: decode them all (rare, so the slow path is fine).
    times = [_message_created(name, qf_dir, now) for name in qf_names]
    return min((created for created in times if created is not None), default=None)


def _message_created(qf_name, qf_dir, now):
    created = _queue_id_time(qf_name[2:], now)
    if created is None:
        try:
            created = os.stat(os.path.join(qf_dir, qf_name)).st_mtime
        except OSError:
            return None
    return created


def _sum_sizes(directory, prefixes):
    total = 0
    with os.scandir(directory) as scan:
        for entry in scan:
            if entry.name[:2] in prefixes:
                with contextlib.suppress(OSError):
                    total += entry.stat().st_size
    return total


def _message_dirs(path):
    """Where a queue directory keeps its qf and df files: qf/ and df/ subdirectories, or itself."""
    qf_dir, df_dir = os.path.join(path, "qf"), os.path.join(path, "df")
    return (qf_dir if os.path.isdir(qf_dir) else path, df_dir if os.path.isdir(df_dir) else path)


def _list_qf(qf_dir):
    return [name for name in os.listdir(qf_dir) if name.startswith("qf")]


def _scan_queue_dir(path, now, queue_name, bytes_limit=None, want_names=False):
    """
    Count a queue directory by its file names (no qf is opened; mailq reads every one): count,
    oldest creation time, and the bytes of its qf/df files unless there are more than
    ``bytes_limit`` messages (a stat per file). Handles qf/df/xf subdirectories.
    """
    result = {"path": path, "exists": False, "count": 0, "bytes": None, "oldest": None}
    try:
        st = os.stat(path)
    except OSError as err:
        result["error"] = err.strerror
        result["problems"] = []
        return result, []
    result["exists"] = True
    result["owner"] = _user_name(st.st_uid)
    result["mode"] = f"{stat.S_IMODE(st.st_mode):04o}"
    result["problems"] = _queue_dir_problems(st.st_mode, queue_name)
    qf_dir, df_dir = _message_dirs(path)
    try:
        qf_names = _list_qf(qf_dir)
        result["count"] = len(qf_names)
        result["oldest"] = _oldest_created(qf_names, qf_dir, now)
        if bytes_limit is None or len(qf_names) <= bytes_limit:
            if df_dir == qf_dir:
                result["bytes"] = _sum_sizes(qf_dir, ("qf", "df"))
            else:
                result["bytes"] = _sum_sizes(qf_dir, ("qf",)) + _sum_sizes(df_dir, ("df",))
    except OSError as err:
        result["error"] = err.strerror
        return result, []
    names = [(name, qf_dir, df_dir) for name in qf_names] if want_names else []
    return result, names


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _cron_runners(paths):
    """Queue flushes found in the system crontabs and in root's and smmsp's own crontabs."""
    runners = []
    tables = []
    for location in paths["cron_tables"]:
        if os.path.isdir(location):
            tables.extend(
                os.path.join(location, name)
                for name in sorted(os.listdir(location))
                if not name.startswith(".") and not name.endswith((".dpkg-old", ".dpkg-dist", "~"))
            )
        else:
            tables.append(location)
    for table in tables:
        text = _read_text(table)
        if text:
            runners.extend(_parse_cron_runners(text, table, has_user_field=True))
    user_dir = paths["user_crontabs"]
    for user in ("root", "smmsp"):
        table = os.path.join(user_dir, user)
        text = _read_text(table)
        if text:
            for runner in _parse_cron_runners(text, table, has_user_field=False):
                runner["user"] = user
                runners.append(runner)
    return runners


def _gather_queues(cfs, paths, daemons, cron_runners, now, want_names=False, bytes_limit=None):
    """
    Both queues with their directories, size, oldest message and runners. ``bytes`` is None for
    a directory with more than ``bytes_limit`` messages. With ``want_names``, also every queue's
    ``(qf name, qf dir, df dir)``.
    """
    queues = {}
    names = {}
    for name, cf_key, default_key, _ in _QUEUES:
        directories = []
        count = total = 0
        oldest = None
        names[name] = []
        for path in _queue_dirs(cfs[cf_key], paths[default_key]):
            directory, found = _scan_queue_dir(path, now, name, bytes_limit, want_names)
            directories.append(directory)
            names[name].extend(found)
            count += directory["count"]
            total = None if total is None or directory["bytes"] is None else total + directory["bytes"]
            if directory["oldest"] is not None and (oldest is None or directory["oldest"] < oldest):
                oldest = directory["oldest"]
        dir_paths = {directory["path"] for directory in directories}
        runners = []
        for daemon in daemons:
            if (name == "mta" and daemon["kind"] == "mta" and daemon["interval"]) or (
                daemon["kind"] == f"{name}-queue-runner"
                and (daemon["queue_dir"] in dir_paths or daemon["queue_dir"] is None)
            ):
                runners.append({"type": "daemon", "pid": daemon["pid"], "interval": daemon["interval"]})
        runners.extend(runner for runner in cron_runners if runner["queue"] == name)
        queues[name] = {
            "directories": directories,
            "count": count,
            "bytes": total,
            "oldest_age": None if oldest is None else max(0, int(now - oldest)),
            "runner": _describe_runner(runners[0]) if runners else None,
            "runners": runners,
        }
    return queues, names


def _describe_runner(runner):
    """One line saying what flushes a queue, for ``runner`` in the status report."""
    if runner["type"] == "daemon":
        return f"daemon pid {runner['pid']} every {runner['interval']} s"
    return f"cron {runner['schedule']} as {runner['user']} ({runner['source']})"


def _switch_facts(paths):
    """The vendor daemon switches found on this host, per kind of switch file."""
    switches = {}
    for kind, locations in (paths.get("switch_files") or {}).items():
        files = [locations] if isinstance(locations, str) else list(locations)
        texts = [(path, _read_text(path)) for path in files]
        found = [path for path, text in texts if text is not None]
        values = _parse_shell_vars("\n".join(text for _, text in texts if text))
        entry = {"files": found}
        if kind == "debian":
            keys = ("DAEMON_MODE", "DAEMON_PARMS", "QUEUE_MODE", "QUEUE_INTERVAL", "MSP_MODE",
                    "MSP_INTERVAL", "HANDS_OFF")  # fmt: skip
            entry.update({key: values.get(key) for key in keys})
        elif kind == "redhat":
            entry.update({key: values.get(key) for key in ("DAEMON", "QUEUE", "SMQUEUE")})
            entry["units"] = {
                unit: _systemd_unit_enabled(paths["systemd_dir"], unit)
                for unit in ("sendmail.service", "sm-client.service")
            }
        elif kind == "solaris":
            keys = ("MODE", "QUEUEINTERVAL", "QUEUEOPTION", "CLIENTQUEUEINTERVAL", "CLIENTOPTIONS")
            entry.update({key: values.get(key) for key in keys})
        elif kind == "freebsd":
            entry.update({key: value for key, value in values.items() if key.startswith("sendmail")})
        else:
            entry.update(values)
        switches[kind] = entry
    return switches


def _systemd_unit_enabled(systemd_dir, unit):
    """
    Whether a unit is enabled, read from the ``*.wants`` links that ``systemctl enable`` makes:
    systemctl is not usable where systemd is not PID 1 (containers, chroots, these tests).
    """
    try:
        wants = [name for name in os.listdir(systemd_dir) if name.endswith(".wants")]
    except OSError:
        return False
    return any(os.path.lexists(os.path.join(systemd_dir, name, unit)) for name in wants)


def _load_cfs(paths):
    return {name: _load_cf(paths[name]) for name in ("sendmail_cf", "submit_cf")}


def _relay_facts(cfs, hostnames):
    mta_cf, msp_cf = cfs["sendmail_cf"], cfs["submit_cf"]
    smart_host = mta_cf["macros"].get("S") or None
    msp_host = msp_cf["macros"].get("MTAHost") or None
    _, msp_bare = _split_relay(msp_host)
    return {
        "mta": smart_host,
        "mail_hub": mta_cf["macros"].get("H") or None,
        "msp": msp_host,
        "msp_port": _relay_port(msp_cf["mailer_args"].get("relay", [])),
        "msp_local": msp_cf["exists"] and _is_local_host(msp_bare, hostnames),
    }


# ---------------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------------


def version():
    """
    Which MTA answers as the sendmail binary, and its version.

    Returns ``installed``, ``provider`` (sendmail, postfix, exim, other or none), ``version``
    (e.g. ``8.17.1.9``), ``msp_split`` (8.12 and later: a separate submit.cf and client queue)
    and ``binary``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.version
    """
    info = _version_info(_paths())
    info["msp_split"] = _msp_split(info["version"])
    return info


def listeners():
    """
    Every TCP socket listening on port 25, 465 or 587 in this host's network namespace, with its
    address, port, owning pid and process, and ``exposed``: true unless the address is 127.0.0.1
    or ::1 (the CIS "MTA is configured for local-only mode" rule).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.listeners
    """
    return _listeners()


def queue(name=None, messages=False, limit=100):
    """
    The MTA and MSP queues: directories, ``count``, ``bytes``, ``oldest_age`` (seconds) and what
    flushes each (``runner``/``runners``). Counting reads directory entries only.

    name
        ``mta`` or ``msp`` for one queue; both by default.

    messages
        Also list messages, oldest first, each parsed from its qf file: id, age, size, sender,
        recipients, tries and the last deferral reason.

    limit
        At most this many messages per queue (default 100).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.queue
        salt '*' sendmail.queue msp messages=True limit=10
    """
    if name not in (None, "mta", "msp"):
        raise SaltInvocationError(f"queue name must be 'mta' or 'msp', not {name!r}")
    try:
        limit = int(limit)
    except (TypeError, ValueError) as err:
        raise SaltInvocationError(f"limit must be a whole number, not {limit!r}") from err
    paths = _paths()
    cfs = _load_cfs(paths)
    now = time.time()
    daemons = _sendmail_daemons(_pidfile_argv(cfs.values()))
    queues, names = _gather_queues(cfs, paths, daemons, _cron_runners(paths), now, bool(messages))
    if messages:
        order = _age_order(now)
        for queue_name, found in names.items():
            oldest_first = heapq.nsmallest(max(limit, 0), found, key=lambda item: order(item[0]))
            queues[queue_name]["messages"] = [
                _read_message(qf_name, qf_dir, df_dir, now) for qf_name, qf_dir, df_dir in oldest_first
            ]
    return queues if name is None else queues[name]


def _read_message(qf_name, qf_dir, df_dir, now):
    queue_id = qf_name[2:]
    created = _message_created(qf_name, qf_dir, now)
    message = {
        "id": queue_id,
        "age": None if created is None else max(0, int(now - created)),
        "size": None,
    }
    try:
        with open(os.path.join(qf_dir, qf_name), "rb") as handle:
            message.update(_parse_qf(handle.read()))
    except OSError as err:
        message["error"] = err.strerror
    with contextlib.suppress(OSError):
        message["size"] = os.stat(os.path.join(df_dir, "df" + queue_id)).st_size
    return message


def _queue_ids(paths, cfs):
    """The set of queued ids per queue, from directory listings alone."""
    ids = {}
    for name, cf_key, default_key, _ in _QUEUES:
        ids[name] = set()
        for path in _queue_dirs(cfs[cf_key], paths[default_key]):
            with contextlib.suppress(OSError):
                ids[name].update(qf_name[2:] for qf_name in _list_qf(_message_dirs(path)[0]))
    return ids


def flush(name=None, timeout=300):
    """
    Run the MTA queue (``sendmail -qf``) and the MSP queue (``sendmail -Ac -qf``) once, now, and
    report which messages left each queue and which remain. Nothing is deleted.

    name
        ``mta`` or ``msp`` for one queue; both by default.

    timeout
        Seconds each queue run may take (default 300).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.flush
        salt '*' sendmail.flush msp
    """
    if name not in (None, "mta", "msp"):
        raise SaltInvocationError(f"queue name must be 'mta' or 'msp', not {name!r}")
    paths = _paths()
    cfs = _load_cfs(paths)
    before = _queue_ids(paths, cfs)
    runs = {}
    binary = paths["sendmail_bin"]
    # The MSP queue first: what it hands to a local MTA is then flushed in the same call.
    for queue_name, cf_key, _, mode in reversed(_QUEUES):
        if name not in (None, queue_name):
            continue
        # -qf: run the queue once in the foreground (plain -q may fork and return first).
        cmd = [binary, mode, "-C", paths[cf_key], "-qf"]
        ret = __salt__["cmd.run_all"](
            cmd,
            python_shell=False,
            timeout=int(timeout),
            ignore_retcode=True,
            output_loglevel="debug",
        )
        runs[queue_name] = {"retcode": ret["retcode"], "stderr": ret["stderr"].strip()}
    after = _queue_ids(paths, cfs)
    result = {}
    for queue_name, run in runs.items():
        result[queue_name] = {
            "left": sorted(before[queue_name] - after[queue_name]),
            "remaining": sorted(after[queue_name]),
            **run,
        }
    return result


def status(max_queue_age=None):
    """
    Everything about sendmail on this host in one dictionary:

    - ``installed``, ``provider``, ``version``, ``msp_split``, ``binary``;
    - ``daemons``: running sendmail processes with pid, user, kind (mta, msp-queue-runner,
      mta-queue-runner, other), whether it accepts connections, its queue interval and title;
    - ``listeners`` on 25/465/587 and ``exposed``;
    - ``queues``: mta and msp, with directories, count, bytes, oldest_age and runners (``bytes``
      is null past ``status_bytes_limit`` messages, 10,000 by default: summing sizes takes a
      stat per file; ``sendmail.queue`` always sums);
    - ``relay``: the smart host in sendmail.cf (``mta``) and ``D{MTAHost}`` of submit.cf (``msp``);
    - ``switches``: the vendor's daemon switches (Debian sendmail.conf, Red Hat sysconfig and units,
      Solaris /etc/default/sendmail, FreeBSD rc.conf);
    - ``role``: server, local-only, client, off or unknown;
    - ``findings``: problems, each with a stable ``id``, a ``severity`` and a ``message``.

    max_queue_age
        Seconds after which a queued message is reported as old (default: the
        ``sendmail:max_queue_age`` config value, else 86400).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.status
        salt '*' sendmail.status max_queue_age=3600
    """
    if max_queue_age is None:
        max_queue_age = __salt__["config.get"]("sendmail:max_queue_age", DEFAULT_MAX_QUEUE_AGE)
    try:
        max_queue_age = int(max_queue_age)
    except (TypeError, ValueError) as err:
        raise SaltInvocationError(
            f"max_queue_age must be a number of seconds, not {max_queue_age!r}"
        ) from err
    paths = _paths()
    now = time.time()
    report = _version_info(paths)
    report["msp_split"] = _msp_split(report["version"])
    hostname = socket.gethostname()
    report["hostname"] = hostname
    report["hostname_qualified"] = _hostname_qualified(hostname, _read_text(paths["hosts_file"]) or "")
    cfs = _load_cfs(paths)
    report["cf"] = {
        name: {"path": cf["path"], "exists": cf["exists"], "problems": cf["problems"]}
        for name, cf in cfs.items()
    }
    report["daemons"] = _sendmail_daemons(_pidfile_argv(cfs.values()))
    report["listeners"] = _listeners()
    report["exposed"] = any(listener["exposed"] for listener in report["listeners"])
    report["queues"], _ = _gather_queues(
        cfs,
        paths,
        report["daemons"],
        _cron_runners(paths),
        now,
        bytes_limit=int(paths["status_bytes_limit"]),
    )
    report["relay"] = _relay_facts(cfs, {hostname, hostname.split(".")[0]})
    report["switches"] = _switch_facts(paths)
    relay_configured = (
        not report["relay"]["msp_local"] if report["msp_split"] else bool(report["relay"]["mta"])
    )
    report["role"] = _decide_role(report["provider"], report["listeners"], relay_configured)
    report["findings"] = _find_problems(report, max_queue_age)
    return report


def render_mc(kind, relay=None, port=None, relay_domains=None):
    """
    The .mc text of a role's configuration, after checking every value against the allowlist.

    kind
        ``msp`` (submit.mc for sendmail 8.12 and later), ``nullclient`` (a sendmail.mc that sends
        everything to the relay) or ``server`` (a listening, hardened sendmail.mc).

    relay
        One relay or an ordered list: ``mail.example.com``, ``[mail.example.com]``, ``[192.0.2.1]``,
        ``[IPv6:2001:db8::25]``, optionally prefixed by ``esmtp:``, ``relay:`` or ``smtp:``.
        Required for ``msp`` and ``nullclient``; the optional smart host of a ``server``.

    port
        The relay's port, when not 25.

    relay_domains
        ``server`` only: the domains and IPv4 network prefixes (``198.51.100``) it relays for.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.render_mc msp relay='"[mail.example.com]"'
        salt '*' sendmail.render_mc msp '["[mx1.example.com]", "[mx2.example.com]"]' port=587
        salt '*' sendmail.render_mc server relay_domains='["example.com", "198.51.100"]'
    """
    return _render_for_host(_validate_build_args(kind, relay, port, relay_domains), _paths())


def _validate_build_args(kind, relay, port, relay_domains):
    """Every value that reaches an .mc, checked before anything is read or run."""
    if kind not in ("msp", "nullclient", "server"):
        raise SaltInvocationError(f"kind must be 'msp', 'nullclient' or 'server', not {kind!r}")
    relays = _optional_relays(relay) if kind == "server" else _validate_relays(relay)
    if relay_domains is not None and kind != "server":
        raise SaltInvocationError("relay_domains: only a server relays for other domains")
    return {
        "kind": kind,
        "relays": relays,
        "port": None if port is None else _validate_port(port),
        "relay_domains": _validate_relay_domains(relay_domains),
    }


def _render_for_host(args, paths):
    kind = args["kind"]
    queue_key, pid_key = (
        ("msp_queue_dir", "msp_pid_file") if kind == "msp" else ("mta_queue_dir", "mta_pid_file")
    )
    more = {"relay_domains": args["relay_domains"]}
    for name, key in (("queue_dir", queue_key), ("pid_file", pid_key)):
        if paths.get(key):
            more[name] = _validate_path(paths[key], f"sendmail:lookup:{key}")
    return _render_mc(
        kind,
        args["relays"],
        args["port"],
        cf_m4=_validate_path(paths["cf_m4"], "sendmail:lookup:cf_m4"),
        ostype=paths["mc_ostype"],
        domain=paths["msp_domain"] if kind == "msp" else paths["mta_domain"],
        **more,
    )


def _run_m4(mc_text, timeout=60):
    """Build cf text from .mc text in memory; m4 exits 0 on cf.m4 errors, so stderr fails too."""
    try:
        ret = __salt__["cmd.run_all"](
            ["m4", "-D_NO_MAKEINFO_"],
            stdin=mc_text,
            python_shell=False,
            timeout=timeout,
            ignore_retcode=True,
            output_loglevel="quiet",
            rstrip=False,
        )
    except CommandExecutionError as err:
        raise CommandExecutionError(f"m4 could not run: {err}") from err
    if ret["retcode"] != 0 or ret["stderr"].strip():
        raise CommandExecutionError(
            f"m4 failed (exit {ret['retcode']}): {ret['stderr'].strip() or 'no output on stderr'}"
        )
    return ret["stdout"]


def _validate_cf_file(binary, cf_path, timeout=30):
    """``sendmail -C cf -bt``: 0 means sendmail loads it."""
    ret = __salt__["cmd.run_all"](
        [binary, "-C", cf_path, "-bt"],
        stdin="",
        python_shell=False,
        timeout=timeout,
        ignore_retcode=True,
        output_loglevel="quiet",
    )
    if ret["retcode"] != 0:
        detail = (ret["stderr"] or ret["stdout"]).strip().splitlines()[-1:] or ["timed out?"]
        raise CommandExecutionError(f"sendmail refuses the new cf (exit {ret['retcode']}): {detail[0]}")


def _write_temp(directory, name, text, like):
    """Write ``text`` to a new temp file in ``directory`` (same filesystem as the target), fsync'd."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            st = os.stat(like)
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            os.chown(tmp, st.st_uid, st.st_gid)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _install(tmp, target, backup=True):
    """Rename ``tmp`` over ``target`` (and fsync the directory), keeping the old one as ``.bak``."""
    if backup and os.path.exists(target):
        backup = target + ".bak"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(backup)
        os.link(target, backup)
    os.replace(tmp, target)
    dir_fd = os.open(os.path.dirname(target) or ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def build_cf(kind, relay=None, port=None, relay_domains=None, test=False):
    """
    Build and install a configuration: render the .mc, build the cf with m4, check it (the real
    sendmail must load it, its relay must read back exactly as asked, a submit.cf must not listen,
    a server's must listen, hardened), then rename both into place, keeping the previous files as
    ``.bak``. On any failure nothing is replaced. Nothing runs when the installed .mc is already the
    one asked for and the installed cf reads back right.

    kind
        ``msp`` (writes submit.mc/submit.cf), ``nullclient`` or ``server`` (sendmail.mc/sendmail.cf).

    relay, port, relay_domains
        As for :func:`render_mc`.

    test
        Report what would change, writing nothing (m4 runs into memory only).

    Returns ``changed``, ``changes`` (``{path: {"old": ..., "new": ..., "diff": ...}}``) and
    ``comment``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.build_cf msp relay='"[mail.example.com]"'
        salt '*' sendmail.build_cf msp relay='"[mail.example.com]"' test=True
        salt '*' sendmail.build_cf server relay_domains='["example.com"]'
    """
    args = _validate_build_args(kind, relay, port, relay_domains)
    relays, port = args["relays"], args["port"]
    paths = _paths()
    mc_text = _render_for_host(args, paths)
    cf_path = paths["submit_cf"] if kind == "msp" else paths["sendmail_cf"]
    mc_path = os.path.splitext(cf_path)[0] + ".mc"
    old_mc = _read_text(mc_path)
    old_cf = _read_text(cf_path)
    old_parsed = _parse_cf(old_cf) if old_cf else None
    what = f"a {kind} configuration" + (f" relaying to {_smart_host(relays)}" if relays else "")
    if old_mc == mc_text and old_parsed and not _check_built_cf(kind, old_parsed, relays, port):
        return {"changed": False, "changes": {}, "comment": f"{cf_path} is already {what}"}
    cf_text = _run_m4(mc_text)
    new_parsed = _parse_cf(cf_text)
    problems = _check_built_cf(kind, new_parsed, relays, port)
    if problems:
        raise CommandExecutionError(f"the built cf is wrong: {'; '.join(problems)}")
    changes = {}
    if old_mc != mc_text:
        changes[mc_path] = {
            "old": _summary(old_mc),
            "new": _summary(mc_text),
            "diff": _diff(old_mc, mc_text),
        }
    if old_cf != cf_text:
        changes[cf_path] = {
            "old": _relay_summary(kind, old_parsed),
            "new": _relay_summary(kind, new_parsed),
            "diff": _diff(old_cf, cf_text),
        }
    if test or not changes:
        verb = "would install" if changes else "nothing to change:"
        return {"changed": bool(changes), "changes": changes, "comment": f"{verb} {what} in {cf_path}"}
    directory = os.path.dirname(cf_path)
    # A run killed between writing and renaming leaves its temp files behind: remove them first.
    for name in (os.path.basename(cf_path), os.path.basename(mc_path)):
        for stale in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}.*.tmp")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
    tmp_cf = _write_temp(directory, os.path.basename(cf_path), cf_text, cf_path)
    tmp_mc = None
    try:
        _validate_cf_file(paths["sendmail_bin"], tmp_cf, int(paths["validate_timeout"]))
        tmp_mc = _write_temp(directory, os.path.basename(mc_path), mc_text, mc_path)
        _install(tmp_mc, mc_path)
        tmp_mc = None
        _install(tmp_cf, cf_path)
        tmp_cf = None
    finally:
        for leftover in (tmp_cf, tmp_mc):
            if leftover:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)
    return {
        "changed": True,
        "changes": changes,
        "comment": f"installed {what} in {cf_path}",
        # What sendmail.restore puts back if a later step of a role state fails.
        "previous": {mc_path: old_mc, cf_path: old_cf},
    }


_DIFF_LINES = 120


def _diff(old, new):
    """
    A unified diff without context lines, cut after ``_DIFF_LINES`` lines: replacing a vendor's cf
    (~1,800 lines) changes hundreds, and the first ones (macros, options) are what an operator reads.
    """
    lines = list(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True), new.splitlines(keepends=True), "old", "new", n=0
        )
    )
    if len(lines) > _DIFF_LINES:
        lines = [*lines[:_DIFF_LINES], f"... {len(lines) - _DIFF_LINES} more diff lines\n"]
    return "".join(lines)


def _summary(text):
    if text is None:
        return None
    return f"{len(text.splitlines())} lines"


def _relay_summary(kind, parsed):
    if parsed is None:
        return None
    if kind == "msp":
        return f"relay {parsed['macros'].get('MTAHost')}"
    if kind == "server":
        listening = "listening" if parsed["all_options"].get("DaemonPortOptions") else "not listening"
        return f"{listening}, smart host {parsed['macros'].get('S') or 'none'}"
    return f"relay {parsed['macros'].get('S')}"


# ---------------------------------------------------------------------------------------------------
# Roles: the vendor switch, the services, the cron runners (called by the sendmail states)
# ---------------------------------------------------------------------------------------------------


def check_role(role, relay=None, msp_runner="daemon", queue_interval=None, msp_interval=None):
    """
    Check, without touching anything, whether applying ``role`` with these values would strand
    mail: a client whose relay is this host (the MSP would queue for an MTA that is off), a server
    whose smart host is itself, an MSP queue without a runner. Raises SaltInvocationError for
    values outside the allowlist, and for intervals cron would run (a client's ``queue_interval``,
    ``msp_interval`` with ``msp_runner=cron``) that cron cannot space evenly.

    Returns the list of problems (empty when the role is safe to apply).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.check_role client relay='"[mail.example.com]"'
    """
    # msp_runner is not checked here but reported below, as what would strand mail.
    _validate_role(role)
    relays = _validate_relays(relay) if role == "client" else _optional_relays(relay)
    # Intervals that cron will run must be ones cron can space evenly: known now, not mid-apply.
    cron_intervals = {"queue_interval": queue_interval if role == "client" else None}
    cron_intervals["msp_interval"] = msp_interval if msp_runner == "cron" else None
    for field, interval in cron_intervals.items():
        if interval is not None:
            _cron_schedule(_validate_interval(interval, field), "", field)
    hostname = socket.gethostname()
    return _role_problems(role, relays, msp_runner, {hostname, hostname.split(".")[0]})


def _validate_role(role, msp_runner=None):
    if role not in _ROLES:
        raise SaltInvocationError(f"role must be 'client' or 'server', not {role!r}")
    if msp_runner is not None and msp_runner not in _MSP_RUNNERS:
        raise SaltInvocationError(f"msp_runner must be 'daemon' or 'cron', not {msp_runner!r}")


def _switch_plan(paths, role, queue_interval, msp_interval, msp_runner):
    """For each vendor switch file to edit: its path, old text, new text and the changed values."""
    plan = []
    for kind, locations in (paths.get("switch_files") or {}).items():
        files = [locations] if isinstance(locations, str) else list(locations)
        wanted = _switch_values(kind, role, queue_interval, msp_interval, msp_runner)
        style = _SWITCH_STYLES.get(kind, '{key}="{value}"')
        texts = {path: _read_text(path) for path in files}
        current = _parse_shell_vars("\n".join(text for text in texts.values() if text))
        if kind == "debian" and (current.get("HANDS_OFF") or "no").lower() not in ("no", "0", ""):
            raise CommandExecutionError(
                f"{files[0]} says HANDS_OFF: its owner runs sendmail by hand; not changing it"
            )
        changed = {
            key: {"old": current.get(key), "new": value}
            for key, value in wanted.items()
            if _switch_differs(kind, key, current.get(key), value)
        }
        if not changed:
            continue
        # FreeBSD's /etc/defaults/rc.conf is the vendor's: edit the files that set a key, else the
        # first file after it (rc.conf).
        writable = files[1:] if kind == "freebsd" else files
        for path in writable:
            text = texts[path]
            primary = path == writable[0]
            keys = [key for key in changed if primary or key in _parse_shell_vars(text or "")]
            if not keys or (text is None and not primary):
                continue
            new_text = _set_shell_vars(text or "", {key: wanted[key] for key in keys}, style)
            plan.append({"kind": kind, "path": path, "old": text, "new": new_text,
                         "changes": {key: changed[key] for key in keys}})  # fmt: skip
    return plan


def switch(role, queue_interval="15m", msp_interval="15m", msp_runner="daemon", test=False):
    """
    Set the vendor's own daemon switch for ``role``: Debian /etc/mail/sendmail.conf (then Debian's
    update_conf, which rewrites /etc/cron.d/sendmail), Red Hat /etc/sysconfig/sendmail, Solaris
    /etc/default/sendmail, FreeBSD rc.conf. A client's MTA is switched off and its MSP queue runner
    kept (``msp_runner=daemon``) or left to cron (``msp_runner=cron``, see :func:`cron_runner`); a
    server's MTA listens and runs its queue every ``queue_interval``. Services are not touched
    (see :func:`services`). Files are replaced atomically; if update_conf fails, the old file is put
    back.

    role
        ``client`` or ``server``.

    queue_interval, msp_interval
        sendmail durations (``15m``, ``1h``).

    msp_runner
        ``daemon`` (the vendor's MSP queue runner) or ``cron``.

    test
        Report what would change, writing nothing.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.switch client
        salt '*' sendmail.switch server queue_interval=30m test=True
    """
    _validate_role(role, msp_runner)
    _validate_interval(queue_interval, "queue_interval")
    _validate_interval(msp_interval, "msp_interval")
    paths = _paths()
    plan = _switch_plan(paths, role, queue_interval, msp_interval, msp_runner)
    changes = {entry["path"]: entry["changes"] for entry in plan}
    if test or not plan:
        verb = "would set" if plan else "already set"
        return {"changed": bool(plan), "changes": changes, "comment": f"{verb} the {role} switch"}
    previous = {entry["path"]: entry["old"] for entry in plan}
    try:
        _write_files(paths, {entry["path"]: entry["new"] for entry in plan})
    except (OSError, CommandExecutionError) as err:
        with contextlib.suppress(OSError, CommandExecutionError):
            _write_files(paths, previous)
        raise CommandExecutionError(f"could not set the {role} switch (put back): {err}") from err
    return {
        "changed": True,
        "changes": changes,
        "comment": f"set the {role} switch in {', '.join(changes)}",
        "previous": previous,
    }


def _managed_files(paths):
    """The files the role states write: both cfs, their .mc files, the vendor switch files."""
    managed = set()
    for key in ("sendmail_cf", "submit_cf"):
        managed.update((paths[key], os.path.splitext(paths[key])[0] + ".mc"))
    for locations in (paths.get("switch_files") or {}).values():
        managed.update([locations] if isinstance(locations, str) else locations)
    return managed


def restore(files):
    """
    Put back files that a step of a role state replaced, when a later step fails: ``files`` maps
    each path to its previous text, or to null where there was no file (it is removed). Only the
    files this module manages are accepted (the cfs, their .mc files, the vendor switch files).
    Debian's update_conf runs again when sendmail.conf is among them. Each file is replaced
    atomically.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.restore "$(cat previous.json)"   # the "previous" of a build_cf or switch
    """
    if not isinstance(files, dict):
        raise SaltInvocationError(f"files must map paths to their previous text, not {files!r}")
    paths = _paths()
    managed = _managed_files(paths)
    unknown = sorted(set(files) - managed)
    if unknown:
        raise SaltInvocationError(f"not files of this module, not restored: {', '.join(unknown)}")
    _write_files(paths, files)
    return {"restored": sorted(files)}


def _write_files(paths, files):
    """
    Write each file (path: text, or None to remove it) atomically; then, when Debian's
    sendmail.conf is among them, run Debian's update_conf, which rewrites /etc/cron.d/sendmail.
    """
    for path, text in files.items():
        if text is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        else:
            _replace_file(path, text)
    debian = (paths.get("switch_files") or {}).get("debian")
    if paths["debian_update_conf"] and debian in files:
        _run_checked([paths["debian_update_conf"]], "Debian's update_conf")


def _replace_file(path, text):
    """Replace ``path`` atomically with ``text`` (same mode and owner), no backup."""
    tmp = _write_temp(os.path.dirname(path) or ".", os.path.basename(path), text, path)
    try:
        _install(tmp, path, backup=False)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _run_checked(cmd, what, timeout=120):
    ret = __salt__["cmd.run_all"](
        cmd, python_shell=False, timeout=timeout, ignore_retcode=True, output_loglevel="debug"
    )
    if ret["retcode"] != 0:
        detail = (ret["stderr"] or ret["stdout"]).strip().splitlines()[-1:] or ["no output"]
        raise CommandExecutionError(f"{what} failed (exit {ret['retcode']}): {detail[0]}")
    return ret


def _daemon_state():
    """Whether an MTA listener and an MSP queue runner run now, from the process list."""
    # Kind and "accepting" come from the process titles: no cf or pid file is read (this is polled).
    daemons = _sendmail_daemons({})
    return {
        "mta": any(daemon["kind"] == "mta" and daemon["accepting"] for daemon in daemons),
        "msp_runner": any(daemon["kind"] == "msp-queue-runner" for daemon in daemons),
    }


def _service_actions(os_family, role, running, enabled, msp_runner, restart):
    """
    The service calls that bring the daemons to ``role``: a list of ``(function, service)`` for
    Salt's ``service`` module. ``running`` is :func:`_daemon_state`, ``enabled`` maps service names
    to whether they start at boot. Only what differs is done, unless ``restart`` (a new cf).
    """
    want_mta = role == "server"
    want_msp = msp_runner == "daemon"
    actions = []
    if os_family == "RedHat":
        # sendmail.service starts -bd whatever /etc/sysconfig says, and its Also=sm-client.service
        # disables the MSP runner with it: sm-client is enabled again after.
        actions = _unit_actions("sendmail", want_mta, enabled, running["mta"], restart)
        disabled_with_sendmail = ("disable", "sendmail") in actions
        actions += _unit_actions(
            "sm-client", want_msp, enabled, running["msp_runner"], restart, disabled_with_sendmail
        )
        return actions
    # Debian, FreeBSD and Solaris start and stop every daemon from one service that reads the
    # switch file: it stays enabled (a client still runs its MSP queue runner).
    service = "sendmail"
    if not enabled.get(service) and (want_mta or want_msp):
        actions.append(("enable", service))
    if restart or running["mta"] != want_mta or running["msp_runner"] != want_msp:
        actions.append(("stop", service))
        if want_mta or want_msp:
            actions.append(("start", service))
    if os_family == "Solaris" and want_msp and not enabled.get("sendmail-client"):
        actions.append(("enable", "sendmail-client"))
    return actions


def _unit_actions(unit, wanted, enabled, running, restart, enable_again=False):
    """A systemd unit brought to ``wanted`` (enabled and running, or disabled and stopped)."""
    actions = []
    if not wanted:
        if enabled.get(unit):
            actions.append(("disable", unit))
        if running:
            actions.append(("stop", unit))
        return actions
    if enable_again or not enabled.get(unit):
        actions.append(("enable", unit))
    if restart or not running:
        actions.append(("restart", unit))
    return actions


def _sysv_enabled(rc_dir, service):
    """Whether update-rc.d linked ``service`` to start in ``rc_dir`` (Debian's default runlevel)."""
    return bool(glob.glob(os.path.join(glob.escape(rc_dir), f"S[0-9][0-9]{glob.escape(service)}")))


def _service_enabled(paths, name):
    if __grains__.get("init") != "systemd" and paths.get("sysv_rc_dir"):
        return _sysv_enabled(paths["sysv_rc_dir"], name)
    return bool(__salt__["service.enabled"](name))


def _service_call(paths, function, name):
    if function == "enable" and __grains__.get("init") != "systemd" and paths.get("sysv_rc_dir"):
        # Salt's debian_service.enable calls insserv, which Debian 12 does not install.
        _run_checked(["update-rc.d", name, "enable"], f"update-rc.d {name} enable")
        return
    if not __salt__[f"service.{function}"](name):
        raise CommandExecutionError(f"service.{function} {name} failed")


def services(role, msp_runner="daemon", restart=False, test=False, timeout=None):
    """
    Bring the sendmail daemons to ``role`` with the vendor's service manager, after
    :func:`switch`: a server's MTA listens, a client runs no MTA; the MSP queue runner runs when
    ``msp_runner`` is ``daemon``. Only what differs is started or stopped, unless ``restart``
    (a new cf was installed). Then waits up to ``timeout`` seconds (default: the
    ``services_timeout`` lookup value, 15) for the process list to agree.

    Returns ``changed``, ``changes``, ``comment`` and ``running`` (``mta``: an MTA accepts
    connections; ``msp_runner``: an MSP queue runner runs).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.services client
        salt '*' sendmail.services server restart=True
    """
    _validate_role(role, msp_runner)
    paths = _paths()
    os_family = __grains__.get("os_family", "")
    running = _daemon_state()
    names = ("sendmail", "sm-client") if os_family == "RedHat" else ("sendmail", "sendmail-client")
    enabled = {name: _service_enabled(paths, name) for name in names}
    actions = _service_actions(os_family, role, running, enabled, msp_runner, bool(restart))
    wanted = {"mta": role == "server", "msp_runner": msp_runner == "daemon"}
    changes = {}
    if actions:
        changes["services"] = {
            "old": {"running": running, "enabled": enabled},
            "new": {"running": wanted, "actions": [f"{func} {name}" for func, name in actions]},
        }
    if test or not actions:
        verb = "would run" if actions else "nothing to do:"
        said = ", ".join(f"{func} {name}" for func, name in actions) or "the daemons already match"
        return {
            "changed": bool(actions),
            "changes": changes,
            "comment": f"{verb} {said}",
            "running": running,
        }
    for function, name in actions:
        _service_call(paths, function, name)
    deadline = time.monotonic() + float(timeout or paths["services_timeout"])
    while (now_running := _daemon_state()) != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
    if now_running != wanted:
        raise CommandExecutionError(
            f"after {', '.join(f'{func} {name}' for func, name in actions)} the daemons are "
            f"{now_running}, not {wanted}"
        )
    changes["services"]["new"]["running"] = now_running
    return {
        "changed": True,
        "changes": changes,
        "comment": "ran " + ", ".join(f"{func} {name}" for func, name in actions),
        "running": now_running,
    }


_CRON_IDS = {"mta": "saltext-sendmail-mta-queue", "msp": "saltext-sendmail-msp-queue"}


def _cron_entries(identifier):
    """root's crontab entries carrying ``identifier``, as Salt's cron module reads them."""
    return [
        cron
        for cron in __salt__["cron.list_tab"]("root").get("crons", [])
        if cron.get("identifier") == identifier
    ]


def cron_runner(queue, interval=None, test=False):
    """
    Keep one root cron entry that runs a queue: ``sendmail -q`` (``mta``) or ``sendmail -Ac -q``
    (``msp``), every ``interval`` at a minute derived from the minion id (a fleet does not flush
    at once). The entry carries a stable identifier, so a new interval replaces it. Without
    ``interval`` the entry is removed. Uses Salt's cron module (the ``crontab`` command).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.cron_runner mta 1h
        salt '*' sendmail.cron_runner msp 15m test=True
        salt '*' sendmail.cron_runner mta
    """
    if queue not in _CRON_IDS:
        raise SaltInvocationError(f"queue must be 'mta' or 'msp', not {queue!r}")
    paths = _paths()
    identifier = _CRON_IDS[queue]
    binary = _validate_path(paths["sendmail_bin"], "sendmail:lookup:sendmail_bin")
    command = shlex.join([binary, "-q"] if queue == "mta" else [binary, "-Ac", "-q"])
    wanted = None
    if interval is not None:
        # sendmail:cron_seed groups hosts on one minute on purpose; the minion id spreads them.
        seed = __salt__["config.get"]("sendmail:cron_seed", None) or __opts__["id"]
        minute, hour = _cron_schedule(_validate_interval(interval, "interval"), seed)
        wanted = f"{minute} {hour} * * * {command}"
    entries = _cron_entries(identifier)
    current = [
        f"{cron['minute']} {cron['hour']} {cron['daymonth']} {cron['month']} {cron['dayweek']} "
        f"{cron['cmd']}"
        for cron in entries
        if not cron.get("commented")
    ]
    if current == ([wanted] if wanted else []) and len(entries) == len(current):
        return {"changed": False, "changes": {}, "comment": f"cron entry {identifier} is as wanted"}
    changes = {f"cron:{identifier}": {"old": current[0] if current else None, "new": wanted}}
    if test:
        return {"changed": True, "changes": changes, "comment": f"would set cron entry {identifier}"}
    if wanted is None:
        __salt__["cron.rm_job"]("root", entries[0]["cmd"], identifier=identifier)
    else:
        __salt__["cron.set_job"](
            "root", minute, hour, "*", "*", "*", command, comment="saltext-sendmail queue runner",
            identifier=identifier,
        )  # fmt: skip
    # cron.set_job reports in words; read the table back instead.
    if (wanted is None) != (not _cron_entries(identifier)):
        raise CommandExecutionError(f"root's crontab does not hold the {identifier} entry as asked")
    verb = "removed" if wanted is None else "set"
    return {"changed": True, "changes": changes, "comment": f"{verb} cron entry {identifier}"}


# ---------------------------------------------------------------------------------------------------
# Pillar: the role and relays a minion gets (used by the formula's sendmail.role state)
# ---------------------------------------------------------------------------------------------------

_CLIENT_KEYS = ("msp_runner", "msp_interval", "queue_interval", "flush_timeout")
_SERVER_KEYS = ("msp_runner", "msp_interval")


def _resolve_settings(config, grains, role=None):
    """
    The state arguments for this minion from the ``sendmail`` pillar ``config`` (see
    pillar.example): its role, its site (``site``, else the grain named by ``site_grain``) and that
    site's relays. Raises SaltInvocationError naming the pillar key that is wrong.
    """
    role = role or config.get("role")
    if role not in _ROLES:
        raise SaltInvocationError(f"sendmail:role: {role!r} is not 'client' or 'server'")
    sites = config.get("sites") or {}
    if not isinstance(sites, dict):
        raise SaltInvocationError(f"sendmail:sites: expected a mapping of sites, got {sites!r}")
    site_grain = config.get("site_grain", "site")
    site = config.get("site") or grains.get(site_grain)
    settings = {"role": role, "site": site}
    if site is None and role == "client":
        raise SaltInvocationError(
            f"sendmail:site: no site for this minion (set sendmail:site or the grain {site_grain!r})"
        )
    if site is not None and site not in sites:
        known = ", ".join(sorted(map(str, sites))) or "none"
        raise SaltInvocationError(f"sendmail:sites: no site {site!r} (known: {known})")
    site_config = sites.get(site) or {}
    if role == "client":
        relays = site_config.get("relays")
        if not relays:
            raise SaltInvocationError(f"sendmail:sites:{site}:relays: site {site!r} has no relays")
        # relays is a list by contract, so a one-element list is one relay, not the YAML reading
        # of an unquoted [host] that _validate_relays refuses.
        one = isinstance(relays, list) and len(relays) == 1 and isinstance(relays[0], str)
        settings["relay"] = relays[0] if one else relays
        settings["port"] = site_config.get("port")
        keys = _CLIENT_KEYS
    else:
        settings["relay"] = site_config.get("smart_host")
        settings["port"] = site_config.get("smart_host_port")
        settings["relay_domains"] = site_config.get("relay_domains")
        if config.get("server_queue_interval") is not None:
            settings["queue_interval"] = config["server_queue_interval"]
        keys = _SERVER_KEYS
    settings.update({key: config[key] for key in keys if config.get(key) is not None})
    return settings


def settings(role=None):
    """
    What the formula applies on this minion, read from the ``sendmail`` pillar: ``role``,
    ``site``, and the arguments of ``sendmail.client`` (``relay`` = the site's relays, ``port``,
    intervals) or ``sendmail.server`` (``relay_domains``, optional ``relay`` smart host). Errors name
    the pillar key (``sendmail:role``, ``sendmail:sites:SITE:relays``).

    role
        Use this role instead of ``sendmail:role``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.settings
    """
    config = __salt__["config.get"]("sendmail", {}) or {}
    if not isinstance(config, dict):
        raise SaltInvocationError(f"sendmail: expected a mapping in pillar, got {config!r}")
    return _resolve_settings(config, __grains__, role)


def lookup():
    """
    The paths, file names and commands this module uses on this minion: the per-OS-family defaults
    with ``sendmail:lookup`` (minion config, grains or pillar) on top. The formula's map.jinja reads
    them from here, so that SLS files and the module never disagree.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.lookup
    """
    return _paths()
