"""
The rolling patch of a site's relays (``salt-run sendmail.patch_relays``): the plan from one job to
every targeted minion, then one relay at a time, each only once the site's other relays answer
SMTP: upgrade the packages that provide sendmail, re-apply the server role, check the relay from
outside (smtp_probe.py) and by its own judgement before the next. Stops at the first failure.
"""

import time

import salt.client

from . import processes, relays, smtp_probe

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
# Seconds a patched relay has to answer again.
CHECK_WAIT = 60


def run(opts, progress, site=None, test=False, force=False, tgt="*", tgt_type="glob", timeout=600):
    """
    ``salt-run sendmail.patch_relays`` (its docstring has the parameters and the return);
    ``opts`` the runner's, ``progress(text)`` says how the run goes.
    """
    with salt.client.get_local_client(mopts=opts) as client:
        planned, silent = _plan(client, tgt, tgt_type, site, opts.get("timeout", 5))
        where = f"site {site}" if site else "any site"
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
        failed = None
        for relay in planned:
            if failed:
                relay["comment"] = f"not patched: the run stopped at {failed['minion']}"
                continue
            if not _patch_one(client, relay, planned, asked):
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
    domains = [name for name in relay_domains if name not in networks]
    return {
        "site": settings.get("site"),
        "minion": minion,
        "address": address,
        "port": port,
        "packages": [name for name in names if name],
        "installed": package.get("version"),
        "candidate": package.get("candidate"),
        "domain": settings.get("masquerade_as") or next(iter(domains), None),
        "result": None,
        "comment": "",
        "out_of_service": None,
    }


def _plan(client, tgt, tgt_type, site, timeout):
    """Every targeted relay, by site and minion id; and the minions that did not answer."""
    returns = client.cmd(
        tgt, list(PLAN_FUNCTIONS), [[], [], [], [], [], ["ipv4"]], tgt_type=tgt_type, timeout=timeout
    )
    planned, silent = [], sorted(m for m, answer in returns.items() if not isinstance(answer, dict))
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


def _upgrade(client, relay, timeout, progress):
    """Upgrade, re-apply the role, check. Returns (ok, comment); the relay's entry is updated."""
    pkgs = [{name: relay["candidate"]} for name in relay["packages"]]
    progress(f"{relay['minion']}: upgrading {', '.join(relay['packages'])} to {relay['candidate']}")
    ok, ret = _call(client, relay["minion"], "pkg.install", kwarg={"pkgs": pkgs}, timeout=timeout)
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
    return _check(client, relay, role)


def _check(client, relay, done):
    """After the upgrade: listening, the greeting, a message accepted, compliant, the version."""
    deadline = time.monotonic() + CHECK_WAIT
    answered, said = smtp_probe.greets(relay["address"], relay["port"])
    while not answered and time.monotonic() < deadline:
        time.sleep(1)
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


def _others_answer(relay, planned):
    """Whether the site's other relays answer SMTP: (all do, what the first silent one said)."""
    for other in planned:
        if other is relay or other["site"] != relay["site"]:
            continue
        if other["address"] is None:
            return False, f"{other['minion']} listens on no network address"
        answered, said = smtp_probe.greets(other["address"], other["port"])
        if not answered:
            return False, f"{other['minion']}: {said}"
    return True, ""


def _patch_one(client, relay, planned, asked):
    """One relay: refuse, predict, skip, or upgrade and check. Returns whether to go on."""
    name = relay["minion"]
    if not relay["candidate"]:  # the package module offers none newer (patch_level.asker)
        relay["result"], relay["comment"] = True, f"up to date ({relay['installed']})"
        return True
    if relay["address"] is None:
        relay["result"] = False
        relay["comment"] = "it listens on no network address: not a serving relay, not patched"
        return False
    others, said = _others_answer(relay, planned)
    if not others and not asked["force"]:
        relay["result"] = False
        relay["comment"] = (
            f"refused, nothing changed: another relay is down ({said}); force=True patches anyway"
        )
        return False
    what = f"{', '.join(relay['packages'])} from {relay['installed']} to {relay['candidate']}"
    if asked["test"]:
        relay["comment"] = f"would upgrade {what}"
        return True
    started = time.monotonic()
    with smtp_probe.Watch(relay["address"], relay["port"]) as watch:
        ok, comment = _upgrade(client, relay, asked["timeout"], asked["progress"])
    relay["out_of_service"] = round(watch.down, 1)
    relay["result"] = ok
    if not ok:
        answered, said = smtp_probe.greets(relay["address"], relay["port"])
        comment = f"{comment}; now it {'still ' if answered else ''}{said}"
    relay["comment"] = f"{comment} ({time.monotonic() - started:.0f} s)"
    asked["progress"](f"{name}: {'done' if ok else 'FAILED'}: {relay['comment']}")
    return ok
