"""
The MTA and MSP queues: which directories each cf names, their messages (counted by file name,
never by reading every qf as mailq does), the time a queue id encodes, one oldest-first order, qf
parsing, and which runner (daemon or cron entry) serves which queue.
"""

import contextlib
import glob
import heapq
import os
import pwd
import re
import stat
import time

from . import allowlist, cf

# Each queue: the cf that names its directory, the lookup key of its default directory, and the
# sendmail mode that runs it.
QUEUES = {
    "mta": {"cf": "sendmail_cf", "default_dir": "mta_queue_dir", "mode": "-Am"},
    "msp": {"cf": "submit_cf", "default_dir": "msp_queue_dir", "mode": "-Ac"},
}

# sendmail's own defaults (cf/m4/proto.m4) when a cf does not set the option.
DEFAULT_MIN_FREE_BLOCKS = 100
DEFAULT_QUEUE_WARN = "4h"
DEFAULT_QUEUE_RETURN = "5d"

# sendmail's queue ids start with six characters of this alphabet: year % 60, month, day, hour,
# minute, second of the creation time (sendmail/queue.c, QueueIdChars).
ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
_ID_VALUE = {char: value for value, char in enumerate(ID_CHARS)}


def id_time(queue_id, now):
    """
    The creation time (epoch seconds) encoded in a queue id's first six characters, read as local
    time, taking the latest year (of the 60-year cycle) not after ``now``. None if it is no queue id.
    """
    if len(queue_id) < 8:
        return None
    try:
        year60, month, day, hour, minute, second = (_ID_VALUE[c] for c in queue_id[:6])
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


def _cycles(qf_names, now):
    """
    The oldest-first order without decoding names: the id alphabet is in ASCII order, so within
    one 60-year cycle a smaller name is older, and names whose year character is past this year's
    belong to the previous cycle. Returns (previous cycle, this cycle). Plain string comparisons:
    a key function called per name costs 50 ms at 100,000 names.
    """
    this_year = ID_CHARS[(time.localtime(now).tm_year - 1900) % 60]
    # The common case, at C speed: the largest name's year character is not past this year's.
    if not qf_names or max(qf_names)[2:3] <= this_year:
        return [], qf_names
    previous = [name for name in qf_names if name[2:3] > this_year]
    return previous, [name for name in qf_names if name[2:3] <= this_year]


def oldest_first(qf_names, now, limit):
    """The ``limit`` oldest of ``qf_names``, oldest first."""
    previous, current = _cycles(qf_names, now)
    first = heapq.nsmallest(limit, previous)
    return first + heapq.nsmallest(max(limit - len(first), 0), current)


def oldest_created(qf_names, qf_dir, now):
    """
    The oldest message's creation time and qf name, from the names alone (one decode); (None,
    None) for no message.
    """
    if not qf_names:
        return None, None
    previous, current = _cycles(qf_names, now)
    oldest = min(previous or current)
    created = id_time(oldest[2:], now)
    if created is not None:
        return created, oldest
    # A name that is no queue id sorted first: decode them all (rare, so the slow path is fine).
    times = ((message_created(name, qf_dir, now), name) for name in qf_names)
    return min(((created, name) for created, name in times if created is not None), default=(None, None))


def delivery_error(qf_path):
    """Why sendmail could not deliver a message yet: its qf file's M line (None before a try)."""
    try:
        with open(qf_path, "rb") as handle:
            return parse_qf(handle.read())["reason"]
    except OSError:
        return None


def message_created(qf_name, qf_dir, now):
    """A message's creation time: from its id, else the qf file's mtime."""
    created = id_time(qf_name[2:], now)
    if created is None:
        try:
            created = os.stat(os.path.join(qf_dir, qf_name)).st_mtime
        except OSError:
            return None
    return created


def parse_qf(data):
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


def read_message(qf_name, qf_dir, df_dir, now):
    """One message: id, age, size of its df file, and what its qf file says."""
    queue_id = qf_name[2:]
    created = message_created(qf_name, qf_dir, now)
    message = {
        "id": queue_id,
        "age": None if created is None else max(0, int(now - created)),
        "size": None,
    }
    try:
        with open(os.path.join(qf_dir, qf_name), "rb") as handle:
            message.update(parse_qf(handle.read()))
    except OSError as err:
        message["error"] = err.strerror
    with contextlib.suppress(OSError):
        message["size"] = os.stat(os.path.join(df_dir, "df" + queue_id)).st_size
    return message


def directories(cfs, lookup):
    """Each queue's directories, as its cf's QueueDirectory names them (``q*`` wildcards expanded)."""
    found = {}
    for name, queue in QUEUES.items():
        pattern = cfs[queue["cf"]]["options"].get("QueueDirectory") or lookup[queue["default_dir"]]
        if any(char in pattern for char in "*?["):
            found[name] = sorted(glob.glob(pattern)) or [pattern]
        else:
            found[name] = [pattern]
    return found


def dir_problems(mode, queue_name):
    """What is unsafe in a queue directory's mode (sendmail/SECURITY): world access, MTA group write."""
    problems = []
    if mode & 0o007:
        problems.append(f"accessible to all users (mode {stat.S_IMODE(mode):04o})")
    if queue_name == "mta" and mode & 0o020:
        problems.append(f"group-writable MTA queue (mode {stat.S_IMODE(mode):04o})")
    return problems


def message_dirs(path):
    """Where a queue directory keeps its qf and df files: qf/ and df/ subdirectories, or itself."""
    qf_dir, df_dir = os.path.join(path, "qf"), os.path.join(path, "df")
    return (qf_dir if os.path.isdir(qf_dir) else path, df_dir if os.path.isdir(df_dir) else path)


def qf_names(qf_dir, nlink=None):
    """
    The qf files of a directory: regular files only, so that a directory named like a qf file is
    no message. ``nlink`` is the directory's link count when the caller has stat'ed it: 2 means no
    subdirectory (every entry is a file), and plain names are then listed, about twice as fast at
    100,000 messages as the DirEntry objects that scandir makes to tell each entry's type.
    """
    if nlink == 2:
        return [name for name in os.listdir(qf_dir) if name[:2] == "qf"]  # (faster than startswith)
    with os.scandir(qf_dir) as scan:
        return [
            entry.name
            for entry in scan
            if entry.name.startswith("qf") and entry.is_file(follow_symlinks=False)
        ]


def ids(queue_dirs):
    """The set of queued ids per queue (``queue_dirs``: :func:`directories`), from listings alone."""
    found = {}
    for name, dir_paths in queue_dirs.items():
        found[name] = set()
        for path in dir_paths:
            with contextlib.suppress(OSError):
                found[name].update(qf_name[2:] for qf_name in qf_names(message_dirs(path)[0]))
    return found


def _sum_sizes(directory, prefixes):
    total = 0
    with os.scandir(directory) as scan:
        for entry in scan:
            if entry.name[:2] in prefixes:
                with contextlib.suppress(OSError):
                    total += entry.stat().st_size
    return total


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def scan_dir(path, now, queue_name, bytes_limit=None):
    """
    Count a queue directory by its file names (no qf is opened): count, oldest creation time, and
    the bytes of its qf/df files unless there are more than ``bytes_limit`` messages (a stat per
    file). Handles qf/df/xf subdirectories. Returns (report, qf names, (qf dir, df dir)).
    """
    result = {
        "path": path,
        "exists": False,
        "count": 0,
        "bytes": None,
        "oldest": None,
        "oldest_error": None,
    }
    try:
        st = os.stat(path)
    except OSError as err:
        result["error"] = err.strerror
        result["problems"] = []
        return result, [], (path, path)
    result["exists"] = True
    result.update(disk_space(path))
    result["owner"] = _user_name(st.st_uid)
    result["mode"] = f"{stat.S_IMODE(st.st_mode):04o}"
    result["problems"] = dir_problems(st.st_mode, queue_name)
    qf_dir, df_dir = message_dirs(path)
    try:
        names = qf_names(qf_dir, st.st_nlink if qf_dir == path else None)
        result["count"] = len(names)
        result["oldest"], oldest_name = oldest_created(names, qf_dir, now)
        if oldest_name:
            result["oldest_error"] = delivery_error(os.path.join(qf_dir, oldest_name))
        if bytes_limit is None or len(names) <= bytes_limit:
            if df_dir == qf_dir:
                result["bytes"] = _sum_sizes(qf_dir, ("qf", "df"))
            else:
                result["bytes"] = _sum_sizes(qf_dir, ("qf",)) + _sum_sizes(df_dir, ("df",))
    except OSError as err:
        result["error"] = err.strerror
        return result, [], (qf_dir, df_dir)
    return result, names, (qf_dir, df_dir)


def disk_space(path):
    """
    The free space of a queue directory's file system as sendmail counts it (statvfs: blocks
    free to non-root users, of ``f_frsize`` bytes): ``free_blocks`` and ``block_size``.
    """
    try:
        st = os.statvfs(path)
    except OSError:
        return {"free_blocks": None, "block_size": None}
    return {"free_blocks": st.f_bavail, "block_size": st.f_frsize}


def cf_limits(parsed_cf):
    """
    What a queue's cf says about waiting mail: ``min_free_blocks`` (below it sendmail answers 452
    "Insufficient disk space"), ``queue_warn`` and ``queue_return`` (seconds before the sender is
    warned, and before the message bounces), sendmail's defaults where the cf is silent.
    """
    options = parsed_cf["options"]
    blocks = re.match(r"\d+", options.get("MinFreeBlocks", ""))
    warn = allowlist.duration_seconds(options.get("Timeout.queuewarn"), "s")
    back = allowlist.duration_seconds(options.get("Timeout.queuereturn"), "s")
    return {
        "min_free_blocks": int(blocks.group()) if blocks else DEFAULT_MIN_FREE_BLOCKS,
        "queue_warn": warn or allowlist.duration_seconds(DEFAULT_QUEUE_WARN),
        "queue_return": back or allowlist.duration_seconds(DEFAULT_QUEUE_RETURN),
    }


def runners_for(queue_name, dir_paths, daemons, cron_runners):
    """
    What runs a queue: an MTA daemon started with an interval (``-bd -q15m``) or a queue-runner
    daemon for one of its directories, and cron entries that flush it.
    """
    runners = [
        {"type": "daemon", "pid": daemon["pid"], "interval": daemon["interval"]}
        for daemon in daemons
        if (queue_name == "mta" and daemon["kind"] == "mta" and daemon["interval"])
        or (
            daemon["kind"] == f"{queue_name}-queue-runner"
            and (daemon["queue_dir"] in dir_paths or daemon["queue_dir"] is None)
        )
    ]
    runners.extend(runner for runner in cron_runners if runner["queue"] == queue_name)
    return runners


def describe_runner(runner):
    """One line saying what flushes a queue."""
    if runner["type"] == "daemon":
        return f"daemon pid {runner['pid']} every {runner['interval']} s"
    return f"cron {runner['schedule']} as {runner['user']} ({runner['source']})"


def gather(queue_dirs, daemons, cron_runners, now, bytes_limit=None, locate=False):
    """
    Both queues (``queue_dirs``: :func:`directories`) with their directories, count, bytes (None
    for a directory with more than ``bytes_limit`` messages), the oldest message's age and their
    runners. With ``locate``, also where each queue's qf files are: ``{queue: {qf name: (qf dir,
    df dir)}}`` (else empty).
    """
    queues, where = {}, {}
    for name, dir_paths in queue_dirs.items():
        scanned = [scan_dir(path, now, name, bytes_limit) for path in dir_paths]
        found = [directory for directory, _, _ in scanned]
        if locate:
            where[name] = {qf: dirs for _, names, dirs in scanned for qf in names}
        sizes = [directory["bytes"] for directory in found]
        dated = [directory for directory in found if directory["oldest"] is not None]
        first = min(dated, key=lambda directory: directory["oldest"], default=None)
        oldest, oldest_error = (first["oldest"], first["oldest_error"]) if first else (None, None)
        runners = runners_for(name, set(dir_paths), daemons, cron_runners)
        queues[name] = {
            "directories": found,
            "count": sum(directory["count"] for directory in found),
            "bytes": None if None in sizes else sum(sizes),
            "oldest_age": None if oldest is None else max(0, int(now - oldest)),
            # Why the oldest message still waits (its last delivery error), None before a try.
            "oldest_error": oldest_error,
            "runner": describe_runner(runners[0]) if runners else None,
            "runners": runners,
        }
    return queues, where


def with_messages(queue_dirs, daemons, cron_runners, now, limit):
    """:func:`gather`, each queue with its ``messages``: at most ``limit``, oldest first, parsed."""
    report, where = gather(queue_dirs, daemons, cron_runners, now, locate=True)
    for queue_name, located in where.items():
        report[queue_name]["messages"] = [
            read_message(qf_name, *located[qf_name], now)
            for qf_name in oldest_first(list(located), now, limit)
        ]
    return report


def flush_now(lookup, run, name, timeout):
    """``sendmail.flush``: :func:`flush` of queue ``name`` (both when None), as the cfs name them."""
    if name is not None:
        allowlist.queue_name(name)
    queue_dirs = directories(cf.load_both(lookup), lookup)
    return flush(queue_dirs, lookup, run, allowlist.QUEUES if name is None else (name,), timeout)


def flush(queue_dirs, lookup, run, names, timeout):
    """
    Run each queue of ``names`` once in the foreground (``sendmail -qf``, ``-Ac -qf``; plain -q may
    fork and return first), the MSP queue first: what it hands to a local MTA then leaves in the
    same call. ``run`` is Salt's ``cmd.run_all``. Per queue: ``left`` and ``remaining`` ids, the
    run's ``retcode`` and ``stderr``. Nothing is deleted.
    """
    before = ids(queue_dirs)
    runs = {}
    for queue_name in ("msp", "mta"):
        if queue_name not in names:
            continue
        spec = QUEUES[queue_name]
        ret = run(
            [lookup["sendmail_bin"], spec["mode"], "-C", lookup[spec["cf"]], "-qf"],
            python_shell=False,
            timeout=int(timeout),
            ignore_retcode=True,
            output_loglevel="debug",
        )
        runs[queue_name] = {"retcode": ret["retcode"], "stderr": ret["stderr"].strip()}
    after = ids(queue_dirs)
    return {
        queue_name: {
            "left": sorted(before[queue_name] - after[queue_name]),
            "remaining": sorted(after[queue_name]),
            **outcome,
        }
        for queue_name, outcome in runs.items()
    }
