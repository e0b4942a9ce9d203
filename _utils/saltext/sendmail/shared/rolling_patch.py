"""
The rolling patch of a site's relays (``salt-run sendmail.patch_relays``): the plan from one job to
every targeted minion, then one relay at a time, each only once every other relay the site's
pillar lists answers SMTP (its minion answered the plan or not): upgrade the packages that provide
sendmail with their own restart held back, re-apply the server role, restart the MTA if the role
did not (one outage per relay), check the relay from outside (smtp_probe.py) and by its own
judgement before the next. A targeted minion that does not answer the plan stops the run (it may
be a relay), as does the first failure; ``force`` goes on. Every probe stays within the relay's
per-address rate limit (``client_rate``), so a master outside the site's ``relay_domains`` is
not refused by the relay it watches. Before a relay goes out of service the run holds the
patch lease of every relay of its site (:mod:`patch_lease`): a second run started at once, from
another master too, waits for it, so two relays of a site are never out together.
"""

import ipaddress
import os
import socket
import time
import uuid

import salt.client
import salt.utils.minions

from . import limits_table, patch_lease, processes, relays, smtp_probe, syndics

# What the plan asks every targeted minion, in one job: its patch level asked now (status only
# reads the last answer), the judgement (role, package), the site and its domains, where it
# listens, the packages that move together, its addresses.
PLAN_FUNCTIONS = (
    "sendmail.patch_level",
    "sendmail.compliance",
    "sendmail.settings",
    "sendmail.listeners",
    "sendmail.lookup",
    "grains.item",
)
# Seconds the plan waits for its answers before Salt asks the silent minions whether they are
# still at it (saltutil.find_job: a minion still asking its package manager is waited for, a
# dead one given up gather_job_timeout later): the patch level asks apt-cache policy or rpm,
# which takes seconds on a busy host, more than Salt's default 5.
PLAN_TIMEOUT = 30
# Seconds a patched relay has to answer again.
CHECK_WAIT = 60
# The share of a relay's per-address connection rate (client_rate a minute) the probes may use.
RATE_SHARE = 0.5


def run(opts, progress, site=None, test=False, force=False, tgt="*", tgt_type="glob", timeout=600):
    """
    ``salt-run sendmail.patch_relays`` (its docstring has the parameters and the return);
    ``opts`` the runner's, ``progress(text)`` says how the run goes.
    """
    with salt.client.get_local_client(mopts=opts) as client:
        planned, silent = _plan(client, opts, tgt, tgt_type, site)
        where = f"site {site}" if site else "any site"
        if silent and not force:
            comment = (
                f"refused, nothing changed: {', '.join(silent)} did not answer the plan (a relay "
                "among them would go uncounted); force=True goes on without them"
            )
            return {
                "relays": planned,
                "silent": silent,
                "result": False,
                "comment": comment,
                "retcode": 1,
            }
        if not planned:
            comment = f"no relay (a minion with the server role) in {where} answered"
            return {
                "relays": [],
                "silent": silent,
                "result": site is None,
                "comment": comment,
                "retcode": 0 if site is None else 1,
            }
        progress(f"{'plan' if test else 'patching'}: {', '.join(r['minion'] for r in planned)}")
        asked = {"test": test, "force": force, "timeout": timeout, "progress": progress}
        # Who holds the site's leases: this master, this process, when it started (and a token:
        # two runs are never one holder).
        token = uuid.uuid4().hex[:8]
        started = time.ctime()
        asked["holder"] = f"patch_relays on {opts.get('id')}, pid {os.getpid()}, {started} ({token})"
        asked["peers"] = {}
        for relay in planned:
            asked["peers"].setdefault(relay["site"], []).append(relay["minion"])
        failed = None
        for relay in planned:
            if failed:
                relay["comment"] = f"not patched: the run stopped at {failed['minion']}"
                continue
            if not _patch_one(client, relay, asked):
                failed = relay
    if failed:
        comment = f"stopped at {failed['minion']}: {failed['comment']}"
    elif test:
        due = sum(r["comment"].startswith("would") for r in planned)
        comment = f"would patch {due} relay(s), {len(planned) - due} up to date"
        test = bool(due)  # as Salt's test=True: None when something would change, else True
    else:
        patched = sum(r["out_of_service"] is not None for r in planned)
        comment = f"patched {patched} relay(s), {len(planned) - patched} already up to date"
    return {
        "relays": planned,
        "silent": silent,
        "result": failed is None and (None if test else True),
        "comment": comment,
        "retcode": 1 if failed else 0,
    }


def _endpoint(listeners, addresses):
    """Where clients reach a relay: its listener on 25 (a wildcard one: its first own address)."""
    for entry in sorted(listeners or [], key=lambda e: e.get("port") != 25):
        address = str(entry.get("address", ""))
        if address in processes.WILDCARD_ADDRESSES:
            address = next(iter(addresses), None)
        if address and processes.is_exposed(address):
            return address, entry.get("port", 25)
    return None, 25


def _relay(minion, answers):
    """A relay's entry in the plan from its answers to PLAN_FUNCTIONS; None if it is no relay."""
    if not isinstance(answers, dict):
        return None
    judged, settings = answers.get("sendmail.compliance"), answers.get("sendmail.settings")
    if not (isinstance(judged, dict) and isinstance(settings, dict)):
        return None
    if judged.get("expected") != "server":
        return None
    lookup = answers.get("sendmail.lookup") or {}
    grains = answers.get("grains.item") or {}
    own = [a for a in grains.get("ipv4") or [] if processes.is_exposed(a)]
    address, port = _endpoint(answers.get("sendmail.listeners"), own)
    package = judged.get("package") or {}
    names = lookup.get("upgrade_packages") or [package.get("name")]
    relay_domains = [str(name) for name in settings.get("relay_domains") or []]
    networks = relays.networks(relay_domains)
    domains = [n for n in relay_domains if n not in networks and n[:5].lower() != "ipv6:"]
    listed = settings.get("site_relays") or {}
    client_rate = (settings.get("limits") or {}).get("client_rate")
    if client_rate is None:
        client_rate = limits_table.SERVER_DEFAULTS["client_rate"]
    return {
        "site": settings.get("site"),
        "minion": minion,
        "address": address,
        "port": port,
        "addresses": own,
        # The site's relays as its pillar lists them, and the port its clients use.
        "listed": [str(entry) for entry in listed.get("relays") or []],
        "listed_port": listed.get("port") or 25,
        # Seconds between two probes of this relay: within its per-address rate limit (0: none).
        "probe_every": 60 / (client_rate * RATE_SHARE) if client_rate else smtp_probe.WATCH_EVERY,
        "packages": [name for name in names if name],
        "installed": package.get("version"),
        "candidate": package.get("candidate"),
        "domain": settings.get("masquerade_as") or next(iter(domains), None),
        "result": None,
        "comment": "",
        "out_of_service": None,
    }


def _plan(client, opts, tgt, tgt_type, site):
    """Every targeted relay, by site and minion id; and the targeted minions that did not answer."""
    functions, args = list(PLAN_FUNCTIONS), [[], [], [], [], [], ["ipv4"]]
    if syndics.is_master_of_masters(opts):
        returns, _ = syndics.ask(opts, client, tgt, tgt_type, functions, args, PLAN_TIMEOUT)
        targeted = list(returns)
    else:
        targeted = salt.utils.minions.CkMinions(opts).check_minions(tgt, tgt_type)["minions"]
        returns = client.cmd(tgt, functions, args, tgt_type=tgt_type, timeout=PLAN_TIMEOUT)
    answered = {m for m, answer in returns.items() if isinstance(answer, dict)}
    silent = sorted((set(targeted) | set(returns)) - answered)
    planned = []
    for minion, answers in sorted(returns.items()):
        relay = _relay(minion, answers)
        if relay and (site is None or relay["site"] == site):
            planned.append(relay)
    planned.sort(key=lambda r: (str(r["site"]), r["minion"]))
    return planned, silent


def _call(client, minion, function, arg=(), kwarg=None, timeout=600):
    """One function on one minion: (ok, what it returned)."""
    returns = client.cmd(
        minion, function, list(arg), timeout=timeout, full_return=True, kwarg=kwarg or {}
    )
    answer = returns.get(minion)
    if not isinstance(answer, dict) or "ret" not in answer:
        return False, f"{minion} did not answer {function}"
    ok = answer.get("retcode", 0) == 0 and not str(answer["ret"]).startswith("ERROR")
    return ok, answer["ret"]


def _errors(ret, limit=800):
    """The lines of a failed package run that say what failed (dpkg's, apt's), once each."""
    lines = [line.strip(" -") for line in str(ret).splitlines()]
    said = [line for line in lines if "error" in line.lower() or line.startswith("E:")]
    return " | ".join(dict.fromkeys(said or lines[:3]))[:limit]


def _state_failures(ret):
    """The comments of the failed states in a state run's return (or the error it gave)."""
    if not isinstance(ret, dict):
        return [str(ret)]
    return [
        f"{s.get('__id__', key)}: {s.get('comment')}"
        for key, s in ret.items()
        if isinstance(s, dict) and s.get("result") is False
    ]


def _mta_pid(client, relay):
    """The pid of the relay's MTA daemon (None: none runs, or its minion did not say)."""
    ok, status = _call(client, relay["minion"], "sendmail.status", timeout=120)
    daemons = status.get("daemons") if ok and isinstance(status, dict) else None
    return next((d.get("pid") for d in daemons or [] if d.get("kind") == "mta"), None)


def _upgrade(client, relay, timeout, progress):
    """
    Upgrade (the package's own restart held back), re-apply the role, restart the MTA if the
    role did not, check. Returns (ok, comment); the relay's entry is updated.
    """
    before = _mta_pid(client, relay)
    progress(f"{relay['minion']}: upgrading {', '.join(relay['packages'])} to {relay['candidate']}")
    ok, ret = _call(
        client,
        relay["minion"],
        "sendmail.upgrade",
        [relay["packages"], relay["candidate"]],
        timeout=timeout,
    )
    if not ok:
        _, now = _call(client, relay["minion"], "pkg.version", relay["packages"], timeout=120)
        if isinstance(now, str):  # one package asked: its version alone
            now = {relay["packages"][0]: now}
        versions = ", ".join(f"{name} {v or 'not installed'}" for name, v in sorted(now.items()))
        return False, f"the upgrade failed: {_errors(ret)}; installed now: {versions}"
    progress(f"{relay['minion']}: re-applying the server role")
    ok, ret = _call(client, relay["minion"], "state.apply", ["sendmail"], {"queue": True}, timeout)
    failures = _state_failures(ret)
    if not ok or failures:
        return False, f"re-applying the server role failed: {'; '.join(failures)[:600]}"
    # The package's own scripts may have rewritten the configuration (Debian's postinst rebuilds
    # sendmail.cf from sendmail.mc): what the role put back, in its own words.
    changed = [str(s.get("comment")) for s in ret.values() if s.get("changes")]
    role = f"the role: {'; '.join(changed)}" if changed else "the role changed nothing"
    if before is not None and _mta_pid(client, relay) == before:
        # Still the daemon of the old binary: the one restart of this relay, now.
        progress(f"{relay['minion']}: restarting its MTA on the new sendmail")
        ok, ret = _call(
            client, relay["minion"], "sendmail.services", ["server"], {"restart": True}, timeout
        )
        if not ok:
            return False, f"{role}; restarting its MTA failed: {str(ret)[:400]}"
        role += "; restarted its MTA on the new sendmail"
    return _check(client, relay, role)


def _check(client, relay, done):
    """After the upgrade: listening, the greeting, a message accepted, compliant, the version."""
    deadline = time.monotonic() + CHECK_WAIT
    answered, said = smtp_probe.greets(relay["address"], relay["port"])
    while not answered and time.monotonic() < deadline:
        time.sleep(relay["probe_every"])
        answered, said = smtp_probe.greets(relay["address"], relay["port"])
    if not answered:
        return False, f"{done}, but {said}"
    if relay["domain"]:
        accepted, said = smtp_probe.accepts(relay["address"], relay["domain"], relay["port"])
        if not accepted:
            return False, f"{done}, but it {said}"
    # The package manager asked again (status only reads its last answer), then the judgement.
    _call(client, relay["minion"], "sendmail.patch_level", timeout=120)
    ok, judged = _call(client, relay["minion"], "sendmail.compliance", timeout=120)
    if not ok or not isinstance(judged, dict):
        return False, f"{done}, but sendmail.compliance failed: {judged}"
    if judged.get("verdict") != "compliant":
        found = [f["id"] for f in judged.get("findings") or []]
        return False, f"{done}, but it is {judged.get('verdict')}: {judged.get('problem') or found}"
    version = (judged.get("package") or {}).get("version")
    if version != relay["candidate"]:
        return False, f"{done}, but its package is {version}, not {relay['candidate']}"
    return True, f"upgraded from {relay['installed']} to {version}; {done}; compliant, answers SMTP"


def _is_this_relay(relay, listed):
    """Whether the site's pillar entry ``listed`` names ``relay`` (one of its own addresses)."""
    host = relays.connect_host(listed)
    try:
        ipaddress.ip_address(host)
        found = {host}
    except ValueError:  # a name: what it resolves to here
        try:
            found = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
        except OSError:
            found = set()
    return bool(found & {relay["address"], *relay["addresses"]})


def _site_serves(relay):
    """
    Whether every other relay the site's pillar lists answers SMTP, whether its minion answered
    the plan or not: (all do, what the first silent one said).
    """
    others = [entry for entry in relay["listed"] if not _is_this_relay(relay, entry)]
    if len(others) == len(relay["listed"]):
        return False, f"its own address is not among the site's relays ({', '.join(relay['listed'])})"
    if not others:
        return False, "it is the site's only relay: its clients queue while it restarts"
    for entry in others:
        answered, said = smtp_probe.greets(relays.connect_host(entry), relay["listed_port"])
        if not answered:
            return False, f"{entry}: {said}"
    return True, ""


def _patch_one(client, relay, asked):
    """One relay: refuse, predict, skip, or upgrade and check. Returns whether to go on."""
    if not relay["candidate"]:  # the package module offers none newer (patch_level.asker)
        relay["result"], relay["comment"] = True, f"up to date ({relay['installed']})"
        return True
    if relay["address"] is None:
        relay["result"] = False
        relay["comment"] = "it listens on no network address: not a serving relay, not patched"
        return False
    if asked["test"]:
        return _refused(relay, asked) or _predicted(relay)
    site = patch_lease.Site(
        lambda minion, function, args: _call(client, minion, function, args, timeout=60),
        asked["peers"][relay["site"]],
        asked["holder"],
        asked["timeout"] * 3,
    )
    taken, said = site.take(asked["timeout"], asked["progress"], time.sleep)
    if not taken:
        relay["result"] = False
        relay["comment"] = f"refused, nothing changed: another patch run holds the site ({said})"
        return False
    try:
        # Only now, the leases held: no other run takes a relay of this site out meanwhile.
        return not _refused(relay, asked) and _upgrade_and_check(client, relay, asked)
    finally:
        site.give_back()


def _refused(relay, asked):
    """Refuse (True) a relay whose site would not be served while it restarts, unless forced."""
    serves, said = _site_serves(relay)
    if serves or asked["force"]:
        return False
    relay["result"] = False
    relay["comment"] = (
        f"refused, nothing changed: the site would not be served while it restarts ({said}); "
        "force=True patches anyway"
    )
    return True


def _predicted(relay):
    what = f"{', '.join(relay['packages'])} from {relay['installed']} to {relay['candidate']}"
    relay["comment"] = f"would upgrade {what}"
    return True


def _upgrade_and_check(client, relay, asked):
    """The relay upgraded, re-applied, checked: whether to go on."""
    name = relay["minion"]
    started = time.monotonic()
    with smtp_probe.Watch(relay["address"], relay["port"], every=relay["probe_every"]) as watch:
        ok, comment = _upgrade(client, relay, asked["timeout"], asked["progress"])
    relay["out_of_service"] = round(watch.down, 1)
    relay["result"] = ok
    if not ok:
        answered, said = smtp_probe.greets(relay["address"], relay["port"])
        comment = f"{comment}; now it {'still ' if answered else ''}{said}"
    relay["comment"] = f"{comment} ({time.monotonic() - started:.0f} s)"
    asked["progress"](f"{name}: {'done' if ok else 'FAILED'}: {relay['comment']}")
    return ok
