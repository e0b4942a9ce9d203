"""
Cron entries that run sendmail's queues: the ones found in the system and user crontabs (status),
and the one root entry per queue that this package keeps (``sendmail.cron_runner``), spread over
the hour by minion id so that a fleet does not flush at once.
"""

import os
import re
import shlex
import zlib

from salt.exceptions import CommandExecutionError, SaltInvocationError

from . import allowlist, files

# The SALT_CRON_IDENTIFIER of the entry this package keeps for each queue.
IDENTIFIERS = {"mta": "saltext-sendmail-mta-queue", "msp": "saltext-sendmail-msp-queue"}
COMMENT = "saltext-sendmail queue runner"
_IGNORED_SUFFIXES = (".dpkg-old", ".dpkg-dist", "~")


def parse_runners(text, source, has_user_field):
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
                    "schedule": " ".join(fields[:schedule_len]),
                    "user": fields[schedule_len] if has_user_field else None,
                    "command": command,
                }
            )
    return runners


def find_runners(lookup):
    """Queue flushes in the system crontabs and in root's and smmsp's own crontabs."""
    tables = []
    for location in lookup["cron_tables"]:
        if os.path.isdir(location):
            tables.extend(
                os.path.join(location, name)
                for name in sorted(os.listdir(location))
                if not name.startswith(".") and not name.endswith(_IGNORED_SUFFIXES)
            )
        else:
            tables.append(location)
    runners = []
    for table in tables:
        text = files.read_text(table)
        if text:
            runners.extend(parse_runners(text, table, has_user_field=True))
    for user in ("root", "smmsp"):
        table = os.path.join(lookup["user_crontabs"], user)
        text = files.read_text(table)
        if text:
            for runner in parse_runners(text, table, has_user_field=False):
                runners.append({**runner, "user": user})
    return runners


def schedule(interval, seed, field="interval"):
    """
    The (minute, hour) cron fields that run every ``interval`` at an offset taken from ``seed``
    (the minion id), so that a fleet does not flush its queues in the same minute. The interval
    must divide an hour (in minutes) or a day (in hours): cron cannot space anything else evenly.
    """
    seconds = allowlist.duration_seconds(interval)
    # zlib.crc32 rather than hash(): Python salts str hashes per process; this must be stable.
    spread = zlib.crc32(str(seed).encode())
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


def command(binary, queue):
    """The queue run a cron entry makes: ``sendmail -q`` or ``sendmail -Ac -q``."""
    return shlex.join([binary, "-q"] if queue == "mta" else [binary, "-Ac", "-q"])


def line(entry):
    """A crontab line from an entry as Salt's ``cron.list_tab`` returns it."""
    fields = ("minute", "hour", "daymonth", "month", "dayweek", "cmd")
    return " ".join(str(entry[field]) for field in fields)


def keep(queue, interval, seed, binary, cron, test):
    """
    Keep root's one cron entry for ``queue`` (see ``sendmail.cron_runner``): every ``interval``
    at a minute taken from ``seed``, or none without an interval. ``cron`` holds Salt's
    ``cron.list_tab``, ``cron.set_job`` and ``cron.rm_job``. Returns ``identifier``,
    ``changed``, ``old`` and ``new``; the table is read back after a write (Salt's cron module
    reports in words).
    """
    allowlist.queue_name(queue)
    binary = allowlist.path(binary, "sendmail:lookup:sendmail_bin")
    if interval is not None:
        allowlist.interval(interval, "interval")
    identifier = IDENTIFIERS[queue]
    queue_command = command(binary, queue)
    wanted = None
    if interval is not None:
        minute, hour = schedule(interval, seed)
        wanted = f"{minute} {hour} * * * {queue_command}"
    entries = _entries(cron, identifier)
    current = [line(entry) for entry in entries if not entry.get("commented")]
    result = {
        "identifier": identifier,
        "changed": current != ([wanted] if wanted else []) or len(entries) != len(current),
        "old": current[0] if current else None,
        "new": wanted,
    }
    if test or not result["changed"]:
        return result
    if wanted is None:
        cron["cron.rm_job"]("root", entries[0]["cmd"], identifier=identifier)
    else:
        cron["cron.set_job"](
            "root", minute, hour, "*", "*", "*", queue_command, comment=COMMENT, identifier=identifier
        )
    if (wanted is None) != (not _entries(cron, identifier)):
        raise CommandExecutionError(f"root's crontab does not hold the {identifier} entry as asked")
    return result


def _entries(cron, identifier):
    """root's crontab entries carrying ``identifier``, as Salt's cron module reads them."""
    return [
        entry
        for entry in cron["cron.list_tab"]("root").get("crons", [])
        if entry.get("identifier") == identifier
    ]
