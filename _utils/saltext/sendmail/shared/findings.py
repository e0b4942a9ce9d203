"""
The findings of a status report: one small function per finding id (the docs' Troubleshooting
table), each taking the report and returning its findings. :func:`find` runs them all.
"""

import re

from . import processes

# The deferral reasons (a qf file's M line) that say the next hop cannot be reached at all.
_UNREACHABLE = re.compile(
    r"Connection refused|Connection timed out|Network is unreachable|No route to host|"
    r"Host is down|Connection reset",
    re.IGNORECASE,
)


# Seconds before a queued message is old (queue-old-message), unless sendmail:max_queue_age says.
MAX_QUEUE_AGE = 86400
# Every severity a finding can have, most urgent first (the metrics give each its series).
SEVERITIES = ("high", "medium")


def _finding(finding_id, severity, message):
    return {"id": finding_id, "severity": severity, "message": message}


def hostname_qualified(hostname, hosts_text):
    """True when sendmail can find a dotted name for ``hostname`` (itself, or /etc/hosts)."""
    if "." in hostname:
        return True
    for text_line in hosts_text.splitlines():
        names = text_line.split("#", 1)[0].split()[1:]
        if hostname in names and "." in names[0]:
            return True
    return False


def hostname_unqualified(report, _max_queue_age):
    if report["hostname_qualified"]:
        return []
    message = (
        f"hostname {report['hostname']!r} has no domain: every sendmail run sleeps 60 s "
        "('unqualified host name ... sleeping for retry')"
    )
    return [_finding("hostname-unqualified", "medium", message)]


def cf_invalid(report, _max_queue_age):
    return [
        _finding(
            "cf-invalid", "high", f"{found['path']} cannot be loaded: {'; '.join(found['problems'])}"
        )
        for found in report["cf"].values()
        if found["problems"]
    ]


def exposed_listener(report, _max_queue_age):
    return [
        _finding(
            "exposed-listener",
            "high",
            f"{listener['process'] or 'a process'} listens on {listener['address']} port "
            f"{listener['port']}: reachable from the network",
        )
        for listener in report["listeners"]
        if listener["exposed"]
    ]


def queue_stranded(report, _max_queue_age):
    return [
        _finding(
            "queue-stranded",
            "high",
            f"{queue['count']} message(s) in the {name.upper()} queue and nothing flushes it "
            "(no queue-runner daemon, no cron entry)",
        )
        for name, queue in report["queues"].items()
        if queue["count"] and not queue["runners"]
    ]


def queue_old_message(report, max_queue_age):
    return [
        _finding(
            "queue-old-message",
            "medium",
            f"the oldest message in the {name.upper()} queue is {queue['oldest_age'] // 3600} h "
            f"old (threshold {max_queue_age // 3600} h)",
        )
        for name, queue in report["queues"].items()
        if queue["oldest_age"] is not None and queue["oldest_age"] > max_queue_age
    ]


def _unreachable(queue):
    return bool(
        queue["count"] and queue.get("oldest_error") and _UNREACHABLE.search(queue["oldest_error"])
    )


def duration(seconds):
    """``2 d 3 h``, ``4 h 10 min``, ``12 min``: how long, as a person reads it."""
    seconds = max(0, int(seconds))
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def queue_deferred(report, _max_queue_age):
    return [
        _finding(
            "queue-deferred",
            "medium",
            f"{queue['count']} message(s) wait in the {name.upper()} queue; the oldest because: "
            f"{queue['oldest_error']}",
        )
        for name, queue in report["queues"].items()
        if queue["count"] and queue.get("oldest_error") and not _unreachable(queue)
    ]


def relay_unreachable(report, _max_queue_age):
    found = []
    for name, queue in report["queues"].items():
        if not _unreachable(queue):
            continue
        age = queue["oldest_age"] or 0
        returned = queue.get("queue_return")
        when = (
            f"; it bounces back to its sender in {duration(returned - age)} (Timeout.queuereturn "
            f"{duration(returned)})"
            if returned
            else ""
        )
        message = (
            f"{queue['count']} message(s) wait in the {name.upper()} queue for a relay that cannot "
            f"be reached ({queue['oldest_error']}); the oldest is {duration(age)} old{when}. Nothing "
            "is lost while they wait: bring a relay back, then run sendmail.flush"
        )
        found.append(_finding("relay-unreachable", "high", message))
    return found


def queue_disk_low(report, _max_queue_age):
    found = []
    for name, queue in report["queues"].items():
        minimum = queue.get("min_free_blocks")
        for directory in queue["directories"]:
            free = directory.get("free_blocks")
            if free is None or minimum is None or free >= 2 * minimum:
                continue
            free_mib = free * directory["block_size"] / 1048576
            said = (
                f"the file system of the {name.upper()} queue {directory['path']} has {free} blocks "
                f"({free_mib:.1f} MiB) free"
            )
            if free < minimum:
                said += (
                    f", below MinFreeBlocks {minimum}: sendmail refuses new mail there (452 "
                    "Insufficient disk space) and cron's and users' mail fails to submit"
                )
                found.append(_finding("queue-disk-low", "high", said))
            else:
                said += f", near MinFreeBlocks {minimum}, where sendmail starts refusing new mail"
                found.append(_finding("queue-disk-low", "medium", said))
    return found


def queue_unsafe_permissions(report, _max_queue_age):
    return [
        _finding("queue-unsafe-permissions", "high", f"queue directory {directory['path']}: {problem}")
        for queue in report["queues"].values()
        for directory in queue["directories"]
        for problem in directory["problems"]
    ]


def mta_refusing(report, _max_queue_age):
    return [
        _finding(
            "mta-refusing",
            "medium",
            f"the MTA (pid {daemon['pid']}) refuses connections on daemon "
            f"{daemon['refusing']['daemon']} for now: {daemon['refusing']['reason']} (RefuseLA or "
            "MaxDaemonChildren); senders retry later",
        )
        for daemon in report["daemons"]
        if daemon["kind"] == "mta" and daemon.get("refusing")
    ]


def local_mail_unrouted(report, _max_queue_age):
    route = report.get("local_mail")
    if not route or not route["returns_here"] or report["exposed"]:
        return []
    message = (
        f"root's mail leaves as {route['address']} for {route['handed_to']}, which hands it back to "
        "this host, where nothing listens: it waits in the relay's queue until it bounces (cron's "
        "and root's mail is lost). Set sendmail:sites:SITE:masquerade_as and the relays' "
        "sendmail:sites:SITE:aliases"
    )
    return [_finding("local-mail-unrouted", "high", message)]


def _exposure(report):
    """A host that listens on the network is attacked first: its patch findings are high."""
    return "high" if report["exposed"] or report.get("held_listeners") else "medium"


def security_update_pending(report, _max_queue_age):
    package = report.get("package")
    if not package or not package.get("candidate"):
        return []
    message = (
        f"{package['name']} {package['version']} is installed and {package['candidate']} is "
        "offered: salt-run sendmail.patch_relays, or pkg.install on this host"
    )
    return [_finding("security-update-pending", _exposure(report), message)]


def advisory_open(report, _max_queue_age):
    advisories = report.get("advisories") or {}
    return [
        _finding(
            "advisory-open",
            _exposure(report),
            f"{cve} applies to sendmail {report['version']} and {report['package']['name']} "
            f"{report['package']['version']} does not say it fixed it",
        )
        for cve in advisories.get("open") or []
    ]


def msp_to_dead_mta(report, _max_queue_age):
    relay = report["relay"]
    if not (report["msp_split"] and relay["msp_local"]):
        return []
    port = relay["msp_port"]
    # A local MTA refusing for load holds its sockets: the MSP's mail waits, then goes.
    reachable = any(
        listener["port"] == port and processes.reaches_loopback(listener["address"])
        for listener in report["listeners"] + report.get("held_listeners", [])
    )
    if reachable:
        return []
    message = (
        f"submit.cf hands mail to {relay['msp']} port {port} but no local MTA listens there: "
        "every new message will wait in the MSP queue"
    )
    return [_finding("msp-to-dead-mta", "high", message)]


def run_interrupted(report, _max_queue_age):
    if not report.get("interrupted_run"):
        return []
    message = (
        f"{report['interrupted_run']}: the next run of the role rolls it forward, or back to the "
        "files it started from if that run fails too"
    )
    return [_finding("run-interrupted", "high", message)]


def hand_made_mc(report, _max_queue_age):
    found = report.get("hand_made_mc") or {}
    if not found.get("dropped"):
        return []
    message = (
        f"{found['path']} was not written by this package: replacing it with the server role's "
        f"would drop {'; '.join(found['dropped'])}. The server role refuses to unless "
        "sendmail:replace_hand_made is true"
    )
    return [_finding("hand-made-mc", "medium", message)]


_MILTER_DOWN = {
    "T": "the relay answers 451 and the mail waits in its senders' queues",
    "R": "the relay refuses the mail with 5xx: its senders get bounces",
    "4": "the relay answers 421 and the mail waits in its senders' queues",
    "": "mail passes unfiltered",
}


def milter_down(report, _max_queue_age):
    return [
        _finding(
            "milter-down",
            "high",
            f"milter {milter['name']} does not answer on {milter['socket']}: "
            f"{_MILTER_DOWN.get(milter['flags'], _MILTER_DOWN[''])} until it is back",
        )
        for milter in report.get("milters") or []
        if not milter["answers"]
    ]


FINDERS = (
    hostname_unqualified,
    cf_invalid,
    exposed_listener,
    queue_stranded,
    queue_old_message,
    queue_deferred,
    relay_unreachable,
    queue_disk_low,
    queue_unsafe_permissions,
    mta_refusing,
    local_mail_unrouted,
    security_update_pending,
    advisory_open,
    msp_to_dead_mta,
    run_interrupted,
    hand_made_mc,
    milter_down,
)


def find(report, max_queue_age):
    """Every finding of a status report; none for a host whose MTA is not sendmail."""
    if report["provider"] != "sendmail":
        return []
    return [finding for finder in FINDERS for finding in finder(report, max_queue_age)]
