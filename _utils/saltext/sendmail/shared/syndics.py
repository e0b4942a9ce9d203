"""
Who must answer a fleet job on a master of masters (``order_masters: True``), and what they
answered. Such a master holds only its syndics' keys (and those of any minion attached to it
directly), so the minions its keys target are the syndics, not the hosts below them. Each syndic
names, per job, the minions its own master expects; Salt's job cache (``local_cache``) keeps that
list per syndic (``.minions.SYNDIC.p`` in the job's directory: Salt has no API that keeps the
attribution, ``get_load`` merges them). A syndic that does not answer names nobody, so the minions
behind it would vanish from the report (salt#25028): the inventory file on the master keeps, per
syndic, the minions it named the last time it answered. It survives the syndic's death (unlike the
syndic's own accepted keys, on its host) and costs nothing when every syndic answers; a minion
accepted below a syndic that died before any report ran is not in it (said in the docs).

The job is published with ``cmd_async`` and its returns read from the job cache until every known
syndic named its minions and every expected minion answered, or the time is up (``syndic_wait``
plus the job's timeout): ``cmd_iter``/``cmd_batch`` may stop after the first syndic's returns
(salt#69951), and LocalClient's own wait always spends ``syndic_wait``.
"""

import fnmatch
import glob
import json
import os
import re
import time

import salt.payload
import salt.utils.jid
import salt.utils.minions

# What the report calls a minion that did not answer (fleet_report.NO_RETURN starts it).
SILENT = "Minion did not return. [No response]"
# Seconds between two reads of the job cache while returns come in.
POLL = 0.5


def is_master_of_masters(opts):
    """True on a master of masters (its jobs go through syndics)."""
    return bool(opts.get("order_masters"))


def inventory_path(opts):
    """The inventory file: per syndic, the minions it named the last time it answered."""
    return opts.get("sendmail_syndic_inventory") or os.path.join(
        opts["cachedir"], "sendmail", "syndic-minions.json"
    )


def read_inventory(opts):
    """{syndic: [minion, ...]} as last written; {} when there is none or it is unreadable."""
    try:
        with open(inventory_path(opts), encoding="utf-8") as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(s): sorted(map(str, m)) for s, m in found.items() if isinstance(m, list)}


def write_inventory(opts, inventory):
    """Write the inventory whole (a temporary file renamed over it: never half a file)."""
    path = inventory_path(opts)
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    temporary = f"{path}.tmp.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(inventory, handle, indent=1, sort_keys=True)
    os.replace(temporary, path)


def known(opts):
    """The syndics this master has heard from (Salt writes ``cachedir/syndics/ID`` on a return)."""
    try:
        return sorted(os.listdir(os.path.join(opts["cachedir"], "syndics")))
    except OSError:
        return []


def named(opts, jid):
    """{syndic: [minion, ...]}: the minions each syndic named for job ``jid`` (local_cache only)."""
    if opts.get("master_job_cache", "local_cache") != "local_cache":
        return {}
    jobs = os.path.join(opts["cachedir"], "jobs")
    directory = salt.utils.jid.jid_dir(jid, jobs, opts["hash_type"])
    found = {}
    for path in glob.glob(os.path.join(glob.escape(directory), ".minions.*.p")):
        syndic = os.path.basename(path)[len(".minions.") : -len(".p")]
        try:
            with open(path, "rb") as handle:
                found[syndic] = sorted(map(str, salt.payload.load(handle) or []))
        except (OSError, ValueError, TypeError):
            continue
    return found


def by_id(minions, tgt, tgt_type):
    """
    The ``minions`` a target by minion id names (glob, list, pcre): how the inventory's minions of
    a silent syndic are matched, offline. A target by grain, pillar or compound matches none:
    only the minions themselves could say.
    """
    if tgt_type == "glob":
        return [m for m in minions if fnmatch.fnmatch(m, tgt)]
    if tgt_type == "list":
        wanted = set(tgt.split(",") if isinstance(tgt, str) else tgt)
        return [m for m in minions if m in wanted]
    if tgt_type == "pcre":
        return [m for m in minions if re.match(tgt, m)]
    return []


def merged(inventory, answered, everyone):
    """
    The new inventory: a syndic's answer replaces what it named before when the job targeted
    every minion (``everyone``), and only adds to it otherwise (a narrower job names fewer).
    """
    new = dict(inventory)
    for syndic, minions in answered.items():
        new[syndic] = sorted(minions if everyone else set(minions) | set(inventory.get(syndic, [])))
    return new


def expected(direct, syndics, inventory, answered):
    """
    Every minion the job must hear from: the minions attached to this master (``direct``), the
    ones each answering syndic named, and for a syndic that did not answer the ones it named last.
    Returns ({minion: syndic or None}, {syndic: {"answered": bool, "minions": [...]}}).
    """
    owner = dict.fromkeys(direct)
    status = {}
    for syndic in sorted(set(syndics) | set(inventory) | set(answered)):
        minions = answered.get(syndic, inventory.get(syndic, []))
        status[syndic] = {"answered": syndic in answered, "minions": sorted(minions)}
        for minion in minions:
            owner.setdefault(minion, syndic)
    return owner, status


def ask(opts, client, tgt, tgt_type, function, arg=(), timeout=5):
    """
    Publish ``function`` through the syndics and gather the returns: ({minion: answer}, syndics)
    where a minion that did not answer gets :data:`SILENT` (or, behind a syndic that did not
    answer, a text naming it) and ``syndics`` is :func:`expected`'s status. The inventory is
    updated from the syndics that answered.
    """
    syndics = known(opts)
    everything = read_inventory(opts)
    inventory = {s: by_id(m, tgt, tgt_type) for s, m in everything.items()}
    direct = [m for m in targeted(opts, tgt, tgt_type) if m not in syndics and m not in everything]
    jid = client.cmd_async(tgt, function, list(arg), tgt_type=tgt_type)
    if not jid:
        raise RuntimeError(f"the master of masters could not publish {function}")
    wait = float(opts.get("syndic_wait", 5))
    start = time.monotonic()
    deadline = start + wait + float(timeout)
    while True:
        answered = named(opts, jid)
        # A syndic this master had not heard from before names minions now: its id is no minion.
        attached = [m for m in direct if m not in answered]
        owner, status = expected(attached, syndics, inventory, answered)
        returns = {m: r.get("ret") for m, r in client.get_cache_returns(jid).items()}
        everyone = set(syndics) <= set(answered) and set(owner) <= set(returns)
        # Every syndic this master knows named its minions and they all answered: done. Knowing
        # none yet (a new master of masters), give them syndic_wait to name theirs.
        if everyone and (syndics or time.monotonic() - start >= wait):
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL)
    if answered:
        write_inventory(opts, merged(everything, answered, (tgt, tgt_type) == ("*", "glob")))
    for minion, syndic in owner.items():
        if minion not in returns:
            dead = syndic is not None and not status[syndic]["answered"]
            returns[minion] = (
                f"Minion did not return. [its syndic {syndic} did not answer]" if dead else SILENT
            )
    return returns, status


def targeted(opts, tgt, tgt_type):
    """The keys this master holds that ``tgt`` targets: its syndics, and minions attached to it."""
    return salt.utils.minions.CkMinions(opts).check_minions(tgt, tgt_type)["minions"]
