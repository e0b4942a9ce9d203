"""
Everything ``sendmail.status`` reports, gathered from the other concepts in one pass: the binary,
both cfs, the daemons and listeners, the queues and their runners, the relays, the vendor
switches, the role the host plays and the findings.
"""

import socket
import time

from . import (
    allowlist,
    binary,
    cf,
    crontabs,
    dkim,
    files,
    findings,
    hand_made,
    local_mail,
    milters,
    patch_level,
    platform,
    processes,
    queues,
    relay_maps,
    relays,
    roles,
    switches,
    transaction,
)


def for_salt(lookup, salt, context, opts, max_queue_age=None, refresh=False):
    """
    ``sendmail.status``: ``max_queue_age`` checked (default ``sendmail:max_queue_age``), the
    patch level asked first when ``refresh``, then :func:`status`.
    """
    if max_queue_age is None:
        max_queue_age = salt["config.get"]("sendmail:max_queue_age", findings.MAX_QUEUE_AGE)
    max_queue_age = allowlist.whole_number(max_queue_age, "max_queue_age")
    if refresh:
        patch_level.ask_salt(lookup, salt, opts.get("cachedir"), refresh=True)
    return status(lookup, context, max_queue_age, opts.get("cachedir"))


def status(lookup, cache, max_queue_age, cache_dir=None):
    """
    The status report (see ``sendmail.status``); ``cache`` keeps the version probe. The patch
    level is the last answer kept in ``cache_dir`` (:func:`patch_level.facts`); without it,
    ``package`` and ``advisories`` are null.
    """
    now = time.time()
    report = binary.info(lookup["sendmail_bin"], cache, cache_dir)
    hostname = socket.gethostname()
    report["hostname"] = hostname
    hosts_text = files.read_text(lookup["hosts_file"]) or ""
    report["hostname_qualified"] = findings.hostname_qualified(hostname, hosts_text)
    cfs = cf.load_both(lookup)
    report["cf"] = {
        name: {"path": found["path"], "exists": found["exists"], "problems": found["problems"]}
        for name, found in cfs.items()
    }
    queue_dirs = queues.directories(cfs, lookup)
    report["daemons"] = processes.daemons(processes.pidfile_argv(cfs.values()), queue_dirs["msp"])
    report["listeners"] = processes.listeners()
    report["exposed"] = any(listener["exposed"] for listener in report["listeners"])
    # What an MTA refusing connections for load has closed for now: still its sockets.
    report["held_listeners"] = roles.held_listeners(report["daemons"], cfs["sendmail_cf"])
    report["queues"], _ = queues.gather(
        queue_dirs,
        report["daemons"],
        crontabs.find_runners(lookup),
        now,
        bytes_limit=int(lookup["status_bytes_limit"]),
    )
    for name, queue in report["queues"].items():
        queue.update(queues.cf_limits(cfs[queues.QUEUES[name]["cf"]]))
    report["relay"] = cf.relay_facts(cfs, relays.this_host_names(hostname))
    report["switches"] = switches.facts(lookup)
    # The maps the MTA reads (with their entry counts) and its milters (whether each answers).
    mta_cf_text = files.read_text(lookup["sendmail_cf"])
    report["maps"] = relay_maps.in_cf(mta_cf_text)
    report["milters"] = milters.report(mta_cf_text)
    # A relay's DKIM keys (the records to publish) and, only then, its own global addresses.
    report["dkim"] = dkim.installed(lookup)
    report["addresses"] = processes.global_addresses() if report["dkim"] else []
    report["role"] = roles.observed(
        report, report["listeners"] + report["held_listeners"], report["relay"]
    )
    aliases_now = files.shown(files.read_text(local_mail.aliases_file(lookup)[0]))
    report["local_mail"] = local_mail.root_route(report, cfs, aliases_now)
    # A sendmail.mc someone wrote: what a server role would drop from it (and refuses to, unless
    # sendmail:replace_hand_made says so).
    mc_path = platform.cf_pair(lookup, "server")[1]
    dropped = hand_made.for_host(mc_path, lookup["mc_ostype"])
    report["hand_made_mc"] = {"path": mc_path, "dropped": dropped}
    # A role change killed half-way left its journal: said here until the next run heals it.
    report["interrupted_run"] = transaction.interrupted(lookup)
    report.update(package=None, advisories=None)
    if cache_dir and report["provider"] == "sendmail":
        report.update(patch_level.facts(lookup, report["version"], cache_dir))
    report["findings"] = findings.find(report, max_queue_age)
    return files.shown_data(report)


def queue_report(lookup, name, messages, limit):
    """``sendmail.queue``: queue ``name`` (both when None), with messages if asked, values checked."""
    if name is not None:
        allowlist.queue_name(name)
    limit = allowlist.whole_number(limit, "limit")
    report = queues_now(lookup, limit if messages else None)
    return report if name is None else report[name]


def queues_now(lookup, limit=None):
    """Both queues (see ``sendmail.queue``); with a ``limit``, each with its oldest messages."""
    cfs = cf.load_both(lookup)
    queue_dirs = queues.directories(cfs, lookup)
    daemons = processes.daemons(processes.pidfile_argv(cfs.values()), queue_dirs["msp"])
    runners = crontabs.find_runners(lookup)
    if limit is not None:
        return queues.with_messages(queue_dirs, daemons, runners, time.time(), limit)
    return queues.gather(queue_dirs, daemons, runners, time.time())[0]
