"""
The two roles a host can be given (client, server) against what it does: the role it plays now,
read from what listens and where mail goes, and what applying a role would break.
"""

import socket

from . import allowlist, binary, cf, crontabs, processes, relays


def held_listeners(daemon_list, sendmail_cf):
    """
    The sockets an MTA that refuses connections for now (above RefuseLA) has closed: sendmail
    opens them again when the load falls, so they still say what the host is. Read from the
    ``DaemonPortOptions`` of the daemon named in its title, with ``refusing``: sendmail's reason.
    """
    refusing = [d for d in daemon_list if d["kind"] == "mta" and d.get("refusing")]
    if not refusing:
        return []  # the common case: no cf reading on status's path
    configured = cf.daemon_listeners(sendmail_cf)
    return [
        {
            **socket,
            "pid": daemon["pid"],
            "process": "sendmail",
            "exposed": processes.is_exposed(socket["address"]),
            "refusing": daemon["refusing"]["reason"],
        }
        for daemon in refusing
        for socket in configured.get(daemon["refusing"]["daemon"], [])
    ]


def observed(version_info, listeners, relay):
    """
    The role the host plays: ``server`` (listens where other hosts reach it), ``local-only``
    (listens on loopback only), ``client`` (listens on nothing, sends to a relay), ``off``, or
    ``unknown`` (another MTA). ``version_info`` has ``provider`` and ``msp_split``
    (:func:`binary.info`), ``listeners`` the sockets (with :func:`held_listeners`), ``relay`` what
    :func:`cf.relay_facts` reads. Status and the grain both call this.
    """
    provider = version_info["provider"]
    if provider == "none":
        return "off"
    if provider != "sendmail":
        return "unknown"
    if any(listener["exposed"] for listener in listeners):
        return "server"
    if listeners:
        return "local-only"
    return "client" if cf.relay_configured(relay, version_info["msp_split"]) else "off"


def for_grain(lookup, cache, hostnames, cache_dir=None):
    """
    ``installed``, ``provider``, ``version`` and the observed ``role``: what the ``sendmail`` grain
    holds. Cheap: the version probe (cached in ``cache``), both cfs parsed, the listening sockets
    and the process list; no queue is read.
    """
    info = binary.info(lookup["sendmail_bin"], cache, cache_dir)
    cfs = cf.load_both(lookup)
    relay = cf.relay_facts(cfs, hostnames)
    listening = processes.listeners()
    if not any(listener["exposed"] for listener in listening):
        # Only then can a refusing MTA change the answer: the process list costs a few ms.
        listening += held_listeners(processes.daemons(), cfs["sendmail_cf"])
    return {
        "installed": info["installed"],
        "provider": info["provider"],
        "version": info["version"],
        "role": observed(info, listening, relay),
    }


def check(role, relay, msp_runner, queue_interval, msp_interval, hostnames=None):
    """
    ``sendmail.check_role``: every value checked (SaltInvocationError), then :func:`problems`.
    Intervals that cron will run must be ones cron can space evenly: known now, not mid-apply.
    ``hostnames``: this host's names (default: from its host name and /etc/hosts).
    """
    if hostnames is None:
        hostnames = relays.this_host_names(socket.gethostname())
    allowlist.role(role)
    allowlist.msp_runner(msp_runner)
    relay_list = allowlist.relays(relay) if role == "client" else allowlist.optional_relays(relay)
    cron_intervals = {"queue_interval": queue_interval if role == "client" else None}
    cron_intervals["msp_interval"] = msp_interval if msp_runner == "cron" else None
    for field, interval in cron_intervals.items():
        if interval is not None:
            crontabs.schedule(allowlist.interval(interval, field), "", field)
    return problems(role, relay_list, hostnames)


def problems(role, relay_list, hostnames):
    """How applying ``role`` with these relays would lose mail: a list of plain sentences."""
    if role == "client":
        return [
            f"relay {relay} is this host: with the MTA off, the MSP would queue every message for a "
            "daemon that is not there"
            for relay in relay_list
            if relays.is_local(relays.split(relay)[1], hostnames)
        ]
    if any(relays.is_local(relays.split(relay)[1], hostnames) for relay in relay_list):
        return ["the smart host of a server must be another host: mail would loop"]
    return []
