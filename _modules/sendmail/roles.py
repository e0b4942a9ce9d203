"""
The two roles a host can be given (client, server) against what it does: the role it plays now,
read from what listens and where mail goes, and what applying a role would break.
"""

from . import binary, cf, processes, relays


def observed(provider, listeners, relay_configured):
    """
    What the host behaves as: ``server`` (listens where other hosts reach it), ``local-only``
    (listens on loopback only), ``client`` (listens on nothing, sends to a relay), ``off``, or
    ``unknown`` (another MTA).
    """
    if provider == "none":
        return "off"
    if provider != "sendmail":
        return "unknown"
    if any(listener["exposed"] for listener in listeners):
        return "server"
    if listeners:
        return "local-only"
    return "client" if relay_configured else "off"


def played(version_info, listeners, relay):
    """
    The role observed from facts status and the grain both read: ``version_info`` (``provider``,
    ``msp_split``, as :func:`binary.info` returns them), ``listeners`` and ``relay``
    (:func:`cf.relay_facts`).
    """
    relay_configured = cf.relay_configured(relay, version_info["msp_split"])
    return observed(version_info["provider"], listeners, relay_configured)


def summary(paths, cache, hostnames):
    """
    ``installed``, ``provider``, ``version`` and the observed ``role``: what the ``sendmail`` grain
    holds. Cheap: the version probe (cached in ``cache``), both cfs parsed, the listening sockets;
    no queue is read.
    """
    info = binary.info(paths["sendmail_bin"], cache)
    relay = cf.relay_facts(cf.load_both(paths), hostnames)
    return {
        "installed": info["installed"],
        "provider": info["provider"],
        "version": info["version"],
        "role": played(info, processes.listeners(), relay),
    }


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
