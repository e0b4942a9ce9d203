"""
The fleet from the master. ``salt-run sendmail.report`` asks every targeted minion for its
``sendmail.compliance`` (the one judgement, which the drift beacon uses too) in one job, and sorts
the minions by verdict: the runner has no rule of its own. ``salt-run sendmail.patch_relays``
upgrades the sendmail packages of a site's relays one relay at a time, checking each from here.

.. code-block:: bash

    salt-run sendmail.report
    salt-run sendmail.report tgt='client-*'
    salt-run sendmail.report tgt='sendmail:role:server' tgt_type=grain --out=json
    salt-run sendmail.patch_relays site=site-a test=True
"""

import ipaddress
import logging
import smtplib
import threading
import time

import salt.client
import salt.utils.minions

log = logging.getLogger(__name__)

__virtualname__ = "sendmail"
FUNCTION = "sendmail.compliance"
SUMMARY = ("compliant", "at_risk", "drifted", "unmanaged", "unreachable", "not_sendmail")
# What Salt's LocalClient.cmd returns for a targeted minion that did not answer: text such as
# "Minion did not return. [Not connected]" or "... [No response]", or False (Salt 3006, for a
# minion the job expected and never heard from).
NO_RETURN = "Minion did not return"
FIELDS = (
    "expected",
    "observed",
    "findings",
    "other_findings",
    "problem",
    "version",
    "package",
    "advisories",
)


def __virtual__():
    return __virtualname__


def _entry(answer):
    """A minion's entry and the summary list it goes in, from what its job returned."""
    if isinstance(answer, dict) and answer.get("verdict") in SUMMARY:
        entry = {key: answer.get(key) for key in FIELDS}
        entry["compliant"] = answer["verdict"] == "compliant"
        return entry, answer["verdict"]
    entry = {**dict.fromkeys(FIELDS), "findings": [], "other_findings": [], "compliant": False}
    text = str(answer).strip()
    if answer is None or answer is False or text.startswith(NO_RETURN):
        entry["problem"] = text if isinstance(answer, str) else "did not answer"
        return entry, "unreachable"
    # The module is missing there, or the function failed: the minion answered, wrongly.
    entry["problem"] = f"{FUNCTION} failed: {text[:300]}"
    return entry, "drifted"


def _summarize(targeted, returns):
    """The report for the ``targeted`` minion ids from the job's ``returns`` ({id: answer})."""
    report = {"minions": {}, "summary": {**{kind: [] for kind in SUMMARY}, "unpatched": []}}
    for minion in sorted(set(targeted) | set(returns)):
        answer = returns.get(minion)
        entry, kind = _entry(answer)
        report["minions"][minion] = entry
        report["summary"][kind].append(minion)
        if isinstance(answer, dict) and answer.get("unpatched"):
            report["summary"]["unpatched"].append(minion)
    # salt-run exits with this: non-zero only when a managed minion drifted or has mail at risk,
    # or one did not answer.
    failing = ("drifted", "at_risk", "unreachable")
    report["retcode"] = 1 if any(report["summary"][kind] for kind in failing) else 0
    return report


def report(tgt="*", tgt_type="glob", timeout=None):
    """
    The fleet's judgement, one job: per minion ``expected`` (pillar's role), ``observed``,
    ``compliant``, ``findings`` (those that count), ``other_findings``, ``problem`` and
    ``version``, ``package`` and ``advisories`` (the patch level); a ``summary`` (minion ids by
    verdict: ``compliant``, ``at_risk``, ``drifted``, ``unmanaged``, ``unreachable``,
    ``not_sendmail``, and ``unpatched``: an update pending or an advisory open) and a
    ``retcode``, non-zero only when a minion drifted, has mail at risk or did not answer. Shown
    as a table by the ``sendmail_report`` outputter (``--out=json`` or ``--out=yaml`` give the
    data).

    tgt, tgt_type
        The minions, as for ``salt`` (default every minion).

    timeout
        Seconds to wait for the minions (default: the master's ``timeout``).

    CLI Example:

    .. code-block:: bash

        salt-run sendmail.report
        salt-run sendmail.report tgt='sendmail:role:client' tgt_type=grain --out=json
    """
    targeted = salt.utils.minions.CkMinions(__opts__).check_minions(tgt, tgt_type)["minions"]
    # The runner's own opts: reading the master config again would cost 0.3 s (profiled).
    with salt.client.get_local_client(mopts=__opts__) as client:
        returns = client.cmd(
            tgt, FUNCTION, tgt_type=tgt_type, timeout=timeout or __opts__.get("timeout", 5)
        )
    return {"outputter": "sendmail_report", "data": _summarize(targeted, returns)}


# What patch_relays asks every targeted minion, in one job: the judgement (role, package), the
# site and its domains, where it listens, the packages that move together, its addresses.
PLAN_FUNCTIONS = (
    "sendmail.compliance",
    "sendmail.settings",
    "sendmail.listeners",
    "sendmail.lookup",
    "grains.item",
)
# A listener on every address (not a binding here: what a relay's listener may say).
WILDCARDS = ("0.0.0.0", "::", "*")  # noqa: S104
# Seconds between two looks at a relay's greeting while it is being patched; seconds a patched
# relay has to answer again.
WATCH_EVERY = 0.5
CHECK_WAIT = 60


def _progress(text):
    """A line salt-run prints as the run goes (Salt's runner progress event), and the log's."""
    log.info("sendmail.patch_relays: %s", text)
    event = globals().get("__jid_event__")
    if event is not None:
        event.fire_event({"message": text}, "progress")


def _smtp(address, port, timeout, talk):
    """
    ``talk(smtp)`` -> (ok, what to say) over one SMTP connection to ``address`` (smtplib, the
    standard library's client: connecting reads the greeting); (False, why) when it fails.
    """
    try:
        with smtplib.SMTP(address, port, timeout=timeout) as smtp:
            return talk(smtp)
    except (OSError, smtplib.SMTPException) as err:
        return False, f"{address}:{port} does not answer SMTP ({err})"


def _greets(address, port=25, timeout=5):
    """Whether ``address`` answers SMTP (a greeting, then NOOP); and what to say of it."""
    return _smtp(
        address, port, timeout, lambda smtp: (smtp.noop()[0] == 250, f"answers SMTP on {address}:{port}")
    )


def _accepts(address, domain, port=25, timeout=10):
    """
    Whether the relay at ``address`` accepts a message for ``postmaster@domain`` (MAIL and RCPT,
    then RSET: nothing is sent). Returns (accepted, what it said).
    """

    def talk(smtp):
        smtp.ehlo_or_helo_if_needed()
        code, text = smtp.mail("<>")
        if code == 250:
            code, text = smtp.rcpt(f"<postmaster@{domain}>")
        smtp.rset()
        said = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        verb = "accepts" if code == 250 else "refuses"
        return code == 250, f"{verb} a message for postmaster@{domain} ({code} {said})"

    return _smtp(address, port, timeout, talk)


class _Watch:
    """Looks at a relay's greeting every WATCH_EVERY seconds; ``down`` sums the time it did not."""

    def __init__(self, address, port):
        self.address, self.port = address, port
        self.down = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            started = time.monotonic()
            answered, _ = _greets(self.address, self.port, timeout=2)
            self._stop.wait(max(WATCH_EVERY - (time.monotonic() - started), 0))
            if not answered:
                self.down += time.monotonic() - started

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _endpoint(listeners, addresses):
    """Where clients reach a relay: its listener on 25 (a wildcard one: its first own address)."""
    for entry in sorted(listeners or [], key=lambda e: e.get("port") != 25):
        address = str(entry.get("address", ""))
        if address in WILDCARDS:
            address = next(iter(addresses), None)
        if address and not ipaddress.ip_address(address).is_loopback:
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
    own = [a for a in grains.get("ipv4") or [] if not ipaddress.ip_address(a).is_loopback]
    address, port = _endpoint(answers.get("sendmail.listeners"), own)
    package = judged.get("package") or {}
    names = lookup.get("upgrade_packages") or [package.get("name")]
    domains = [d for d in settings.get("relay_domains") or [] if any(c.isalpha() for c in str(d))]
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
        tgt, list(PLAN_FUNCTIONS), [[], [], [], [], ["ipv4"]], tgt_type=tgt_type, timeout=timeout
    )
    relays, silent = [], sorted(m for m, answer in returns.items() if not isinstance(answer, dict))
    for minion, answers in sorted(returns.items()):
        relay = _relay(minion, answers)
        if relay and (site is None or relay["site"] == site):
            relays.append(relay)
    relays.sort(key=lambda r: (str(r["site"]), r["minion"]))
    return relays, silent


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


def _upgrade(client, relay, timeout):
    """Upgrade, re-apply the role, check. Returns (ok, comment); the relay's entry is updated."""
    pkgs = [{name: relay["candidate"]} for name in relay["packages"]]
    _progress(f"{relay['minion']}: upgrading {', '.join(relay['packages'])} to {relay['candidate']}")
    ok, ret = _call(client, relay["minion"], "pkg.install", kwarg={"pkgs": pkgs}, timeout=timeout)
    if not ok:
        _, now = _call(client, relay["minion"], "pkg.version", relay["packages"], timeout=120)
        if isinstance(now, str):  # one package asked: its version alone
            now = {relay["packages"][0]: now}
        versions = ", ".join(f"{name} {v or 'not installed'}" for name, v in sorted(now.items()))
        return False, f"the upgrade failed: {_errors(ret)}; installed now: {versions}"
    _progress(f"{relay['minion']}: re-applying the server role")
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
    answered, said = _greets(relay["address"], relay["port"])
    while not answered and time.monotonic() < deadline:
        time.sleep(1)
        answered, said = _greets(relay["address"], relay["port"])
    if not answered:
        return False, f"{done}, but {said}"
    if relay["domain"]:
        accepted, said = _accepts(relay["address"], relay["domain"], relay["port"])
        if not accepted:
            return False, f"{done}, but it {said}"
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


def _others_answer(relay, relays):
    """Whether the site's other relays answer SMTP: (all do, what the first silent one said)."""
    for other in relays:
        if other is relay or other["site"] != relay["site"]:
            continue
        if other["address"] is None:
            return False, f"{other['minion']} listens on no network address"
        answered, said = _greets(other["address"], other["port"])
        if not answered:
            return False, f"{other['minion']}: {said}"
    return True, ""


def _patch_one(client, relay, relays, test, force, timeout):
    """One relay: refuse, predict, skip, or upgrade and check. Returns whether to go on."""
    name = relay["minion"]
    if not relay["candidate"]:  # the package module offers none newer (patch_level.asker)
        relay["result"], relay["comment"] = True, f"up to date ({relay['installed']})"
        return True
    if relay["address"] is None:
        relay["result"] = False
        relay["comment"] = "it listens on no network address: not a serving relay, not patched"
        return False
    others, said = _others_answer(relay, relays)
    if not others and not force:
        relay["result"] = False
        relay["comment"] = (
            f"refused, nothing changed: another relay is down ({said}); force=True patches anyway"
        )
        return False
    what = f"{', '.join(relay['packages'])} from {relay['installed']} to {relay['candidate']}"
    if test:
        relay["comment"] = f"would upgrade {what}"
        return True
    started = time.monotonic()
    with _Watch(relay["address"], relay["port"]) as watch:
        ok, comment = _upgrade(client, relay, timeout)
    relay["out_of_service"] = round(watch.down, 1)
    relay["result"] = ok
    if not ok:
        answered, said = _greets(relay["address"], relay["port"])
        comment = f"{comment}; now it {'still ' if answered else ''}{said}"
    relay["comment"] = f"{comment} ({time.monotonic() - started:.0f} s)"
    _progress(f"{name}: {'done' if ok else 'FAILED'}: {relay['comment']}")
    return ok


def patch_relays(site=None, test=False, force=False, tgt="*", tgt_type="glob", timeout=600):
    """
    Upgrade the packages that provide sendmail on the relays (the minions whose pillar role is
    ``server``) of one site, or of every site one site after another: one relay at a time, each
    only once the site's other relays answer SMTP; re-apply the server role (the formula's
    ``sendmail`` state); check the relay (it answers SMTP, accepts a message for the site's
    domain, ``sendmail.compliance`` is compliant, its package is the candidate) before the next.
    Stops at the first failure, leaving the remaining relays untouched. Returns ``relays`` in
    order, each with ``site``, ``minion``, ``address``, ``installed``, ``candidate``, ``result``
    (None: not done), ``comment`` and ``out_of_service`` (seconds it did not answer SMTP);
    ``result``, ``comment`` and ``retcode`` (1 when a relay failed).

    site
        The site whose relays to patch (default: every site).
    test
        Return the plan (each relay, installed and candidate versions, the order); change nothing.
    force
        Patch a relay even though another relay of its site does not answer SMTP.
    tgt, tgt_type
        The minions to look among (default every minion).
    timeout
        Seconds to wait for a relay's upgrade or state run.

    CLI Example:

    .. code-block:: bash

        salt-run sendmail.patch_relays site=site-a test=True
        salt-run sendmail.patch_relays site=site-a
    """
    with salt.client.get_local_client(mopts=__opts__) as client:
        relays, silent = _plan(client, tgt, tgt_type, site, __opts__.get("timeout", 5))
        where = f"site {site}" if site else "any site"
        if not relays:
            comment = f"no relay (a minion with the server role) in {where} answered"
            return {
                "relays": [],
                "silent": silent,
                "result": site is None,
                "comment": comment,
                "retcode": 0 if site is None else 1,
            }
        _progress(f"{'plan' if test else 'patching'}: {', '.join(r['minion'] for r in relays)}")
        failed = None
        for relay in relays:
            if failed:
                relay["comment"] = f"not patched: the run stopped at {failed['minion']}"
                continue
            if not _patch_one(client, relay, relays, test, force, timeout):
                failed = relay
    if failed:
        comment = f"stopped at {failed['minion']}: {failed['comment']}"
    elif test:
        due = sum(r["comment"].startswith("would") for r in relays)
        comment = f"would patch {due} relay(s), {len(relays) - due} up to date"
        test = bool(due)  # as Salt's test=True: None when something would change, else True
    else:
        patched = sum(r["out_of_service"] is not None for r in relays)
        comment = f"patched {patched} relay(s), {len(relays) - patched} already up to date"
    return {
        "relays": relays,
        "silent": silent,
        "result": failed is None and (None if test else True),
        "comment": comment,
        "retcode": 1 if failed else 0,
    }
