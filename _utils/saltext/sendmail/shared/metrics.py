"""
Prometheus metrics: a host's sendmail (``sendmail.metrics``, the textfile its beacon keeps fresh)
and the fleet (``salt-run sendmail.report textfile_dir=DIR``), in the text exposition format that
node_exporter's textfile collector reads. Every figure comes from ``sendmail.status`` and the one
judgement (:mod:`judgement`): the metrics have no rule of their own, and ``sendmail_verdict`` has
a series for each of :data:`judgement.VERDICTS`.

The format is written here rather than with prometheus_client: that library is not among Salt's
dependencies, and what the textfile collector reads is a few lines of text per family.
"""

import os
import time

from salt.exceptions import CommandExecutionError, SaltInvocationError

from . import allowlist, dns_records, files, findings, fleet_report, judgement

# The textfile collector reads ``*.prom``; files.replace writes a ``.sendmail.prom.*.tmp`` first.
HOST_FILE = "sendmail.prom"
FLEET_FILE = "sendmail_fleet.prom"
# ``sendmail:metrics`` in pillar: where Debian's prometheus-node-exporter reads textfiles, and
# seconds between refreshes.
DEFAULTS = {"textfile_dir": "/var/lib/prometheus/node-exporter", "interval": 60}
BEACON_MODULE = "sendmail_metrics"
QUEUES = ("mta", "msp")
DAEMONS = ("mta", "msp-queue-runner")


class Family:
    """One metric family: its name, HELP text, TYPE and samples (label mapping, value)."""

    def __init__(self, name, help_text, kind="gauge"):
        self.name, self.help_text, self.kind, self.samples = name, help_text, kind, []

    def add(self, value, **labels):
        self.samples.append((labels, value))
        return self


def _label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def render(families):
    """The exposition text of ``families``: HELP and TYPE, then the samples, one per line."""
    lines = []
    for family in families:
        help_text = family.help_text.replace("\\", "\\\\").replace("\n", "\\n")
        lines += [f"# HELP {family.name} {help_text}", f"# TYPE {family.name} {family.kind}"]
        for labels, value in family.samples:
            shown = ",".join(f'{key}="{_label(text)}"' for key, text in labels.items())
            lines.append(
                f"{family.name}{{{shown}}} {_number(value)}"
                if shown
                else f"{family.name} {_number(value)}"
            )
    return "\n".join(lines) + "\n"


def _queue_families(queues):
    """Per queue: messages, bytes (absent above status_bytes_limit messages), oldest age, limits."""
    messages = Family(
        "sendmail_queue_messages",
        "Messages waiting in the queue (mta: the MTA's, msp: the MSP's clientmqueue).",
    )
    size = Family(
        "sendmail_queue_bytes", "Bytes of the queue's qf and df files (absent when too many to stat)."
    )
    oldest = Family(
        "sendmail_queue_oldest_message_age_seconds", "Age of the queue's oldest message, 0 when empty."
    )
    runner = Family(
        "sendmail_queue_runner",
        "1 when something runs the queue (a daemon's -q interval or a cron job).",
    )
    warn = Family(
        "sendmail_queue_warn_seconds",
        "The cf's Timeout.queuewarn: the sender is told the message waits.",
    )
    back = Family("sendmail_queue_return_seconds", "The cf's Timeout.queuereturn: the message bounces.")
    for name in QUEUES:
        queue = queues.get(name)
        if queue is None:
            continue
        messages.add(queue["count"], queue=name)
        if queue.get("bytes") is not None:
            size.add(queue["bytes"], queue=name)
        oldest.add(queue.get("oldest_age") or 0, queue=name)
        runner.add(bool(queue.get("runners")), queue=name)
        for family, key in ((warn, "queue_warn"), (back, "queue_return")):
            if queue.get(key) is not None:
                family.add(queue[key], queue=name)
    return [messages, size, oldest, runner, warn, back]


def host(status, verdict, now, interval=DEFAULTS["interval"]):
    """
    The families of one host from its ``status`` report and its ``verdict`` (the judgement's),
    taken at ``now``, refreshed every ``interval`` seconds.
    """
    families = _queue_families(status.get("queues") or {})
    running = Family(
        "sendmail_daemon_running",
        "1 when this sendmail daemon runs (mta: accepting or refusing for load).",
    )
    kinds = {daemon["kind"] for daemon in status.get("daemons") or []}
    for kind in DAEMONS:
        running.add(kind in kinds, daemon=kind)
    exposed = Family(
        "sendmail_exposed_listeners", "sendmail's listening sockets reachable from off this host."
    )
    exposed.add(sum(1 for listener in status.get("listeners") or [] if listener.get("exposed")))
    verdicts = Family(
        "sendmail_verdict", "1 for this host's verdict in the fleet's one judgement, 0 for the others."
    )
    for name in judgement.VERDICTS:
        verdicts.add(verdict["verdict"] == name, verdict=name)
    role = Family(
        "sendmail_role_info",
        "The role pillar gives this host (expected) and the role it plays (observed).",
    )
    role.add(1, expected=verdict.get("expected") or "", observed=verdict.get("observed") or "")
    each = Family(
        "sendmail_finding",
        "1 per finding of sendmail.status; counted: whether the verdict counts it.",
    )
    counted = verdict.get("findings") or []
    for finding in status.get("findings") or []:
        each.add(
            1,
            id=finding["id"],
            severity=finding["severity"],
            counted="true" if finding in counted else "false",
        )
    counts = Family("sendmail_findings", "This host's findings (sendmail.status), by severity.")
    seen = [finding["severity"] for finding in status.get("findings") or []]
    for severity in (*findings.SEVERITIES, *sorted(set(seen) - set(findings.SEVERITIES))):
        counts.add(seen.count(severity), severity=severity)
    info = Family("sendmail_info", "The MTA here: its provider and sendmail's version.")
    info.add(1, provider=status.get("provider") or "none", version=status.get("version") or "")
    families += [running, exposed, verdicts, role, each, counts, info]
    advisories = status.get("advisories")
    if advisories is not None:
        missing = Family(
            "sendmail_security_fixes_missing",
            "Advisories of sendmail's version the installed package lacks.",
        )
        families.append(missing.add(len(advisories.get("open") or [])))
    every = Family(
        "sendmail_metrics_interval_seconds", "Seconds between refreshes of these metrics (its beacon's)."
    )
    taken = Family("sendmail_metrics_timestamp_seconds", "When these metrics were taken (Unix time).")
    return [*families, every.add(interval), taken.add(round(now, 3))]


def fleet(report, now):
    """The fleet's families from ``salt-run sendmail.report``'s data."""
    minions = Family(
        "sendmail_fleet_minions", "Minions by the fleet's verdict (unreachable: did not answer)."
    )
    for kind in fleet_report.SUMMARY:
        minions.add(len(report["summary"][kind]), verdict=kind)
    unpatched = Family(
        "sendmail_fleet_unpatched_minions", "Minions with a sendmail update pending or an advisory open."
    )
    unpatched.add(len(report["summary"]["unpatched"]))
    totals = {}
    for entry in report["minions"].values():
        for queue, count in (entry.get("queues") or {}).items():
            key = (entry.get("site") or "", queue)
            totals[key] = totals.get(key, 0) + (count or 0)
    queued = Family(
        "sendmail_fleet_queue_messages", "Messages queued on the fleet's minions, by site and queue."
    )
    for (site, queue), count in sorted(totals.items()):
        queued.add(count, site=site, queue=queue)
    dns_findings = Family(
        "sendmail_fleet_dns_findings",
        "Relays whose DNS records fail a provider's check, by site and finding (the report's lookups).",
    )
    unanswered = Family(
        "sendmail_fleet_dns_unanswered", "Record names the DNS did not answer for, by site."
    )
    for site, checked in sorted((report.get("records") or {}).items()):
        counts = dict.fromkeys(dns_records.FINDINGS, 0)
        for entry in report["minions"].values():
            if (entry.get("site") or "") == site:
                for finding in entry.get("findings") or []:
                    if finding["id"] in counts:
                        counts[finding["id"]] += 1
        for finding, count in counts.items():
            dns_findings.add(count, site=site, finding=finding)
        unanswered.add(len(checked["unanswered"]), site=site)
    through = Family(
        "sendmail_fleet_syndic_up",
        "1 when the syndic named its minions for the report's job (a master of masters only).",
    )
    for syndic, seen in sorted((report.get("syndics") or {}).items()):
        through.add(int(bool(seen["answered"])), syndic=syndic)
    taken = Family("sendmail_fleet_report_timestamp_seconds", "When the report was taken (Unix time).")
    families = [minions, unpatched, queued, dns_findings, unanswered, through]
    return [*families, taken.add(round(now, 3))]


def settings(config):
    """``textfile_dir`` and ``interval`` of a ``sendmail:metrics`` mapping, defaults filled in."""
    return {key: config.get(key) or default for key, default in DEFAULTS.items()}


def beacon_config(chosen):
    """The ``sendmail_metrics`` beacon's configuration, as Salt lists a beacon (module first)."""
    return [
        {"beacon_module": BEACON_MODULE},
        {"interval": chosen["interval"]},
        {"textfile_dir": chosen["textfile_dir"]},
    ]


def interval_of(config):
    """The refresh interval a minion's ``sendmail`` configuration gives its metrics."""
    chosen = config.get("metrics") if isinstance(config, dict) else None
    return settings(chosen if isinstance(chosen, dict) else {})["interval"]


def write_host(textfile_dir, text):
    """``text`` (a host's metrics), written to its textfile when ``textfile_dir`` is given."""
    if textfile_dir is not None:
        write(textfile_dir, HOST_FILE, text)
    return text


def host_file(textfile_dir):
    return os.path.join(textfile_dir, HOST_FILE)


def stale(path, interval, now=None):
    """Whether ``path`` is missing, or older than two refreshes (its beacon stopped)."""
    try:
        age = (now or time.time()) - os.stat(path).st_mtime
    except FileNotFoundError:
        return True
    return age > 2 * interval


def check_dir(textfile_dir):
    """``textfile_dir`` when it is a plain absolute path to a directory; else SaltInvocationError."""
    allowlist.path(textfile_dir, "textfile_dir")
    if not os.path.isdir(textfile_dir):
        raise SaltInvocationError(f"textfile_dir: {textfile_dir} is not a directory")
    return textfile_dir


def write(textfile_dir, name, text):
    """
    Replace ``textfile_dir/name`` with ``text`` atomically (a temp file in the same directory, then
    a rename: node_exporter never reads half a file). The directory must exist (node_exporter's
    package makes it). Returns the path.
    """
    path = os.path.join(check_dir(textfile_dir), name)
    try:
        files.replace(path, text)
    except OSError as err:
        raise CommandExecutionError(f"cannot write {path}: {err.strerror or err}") from err
    return path
