"""
``salt-run sendmail.patch_relays`` (the runner, then saltext.sendmail.shared.rolling_patch) with a
fake LocalClient and fake SMTP
looks: the order, the refusals and the stop at the first failure. The real run (real minions, real
apt and dpkg, real sendmail restarts) is tests/systemd/test_patch_relays.py.
"""

import tempfile
import threading
import time

import pytest

from saltext.sendmail.shared import patch_lease, rolling_patch, smtp_probe
from tests.unit.support import load

runner = load("_runners/sendmail.py")
OLD, NEW = "8.17.1.9-2+deb12u2", "8.17.1.9-2+deb12u3"
PACKAGES = ["sendmail-base", "sendmail-bin", "sendmail-cf"]


# What each site's pillar lists: site b's second relay has no minion at all.
LISTED = {"a": ["[198.51.100.11]", "[198.51.100.12]"], "b": ["[203.0.113.5]", "[203.0.113.6]"]}


def answers(role, address, candidate=NEW, site="a", client_rate=6000):
    """What one minion answers to the plan's job (rolling_patch.PLAN_FUNCTIONS)."""
    return {
        "sendmail.compliance": {
            "verdict": "compliant",
            "expected": role,
            "package": {"name": "sendmail-bin", "version": OLD, "candidate": candidate},
        },
        "sendmail.settings": {
            "role": role,
            "site": site,
            "relay_domains": ["example.com", "198.51.100"],
            # A high rate: the fake relays are probed without waiting seconds between looks.
            "limits": {"client_rate": client_rate},
            "site_relays": {"relays": LISTED[site], "port": 25},
        },
        "sendmail.listeners": [
            {"address": "0.0.0.0", "port": 25},
            {"address": "127.0.0.1", "port": 587},
        ],
        "sendmail.lookup": {"upgrade_packages": PACKAGES},
        "grains.item": {"ipv4": ["127.0.0.1", address]},
    }


class FakeClient:
    """
    LocalClient: the plan's answers, then each call recorded and answered by ``results``; the
    relays' patch leases are real lease files (patch_lease.take) in ``lease_dir``, recorded apart.
    """

    def __init__(self, plan, results=None, lease_dir=None):
        self.plan, self.results, self.calls = plan, results or {}, []
        self.pids = {}  # the MTA's pid on each relay: a new one after each role run
        self.lease_dir, self.leases = lease_dir or tempfile.mkdtemp(prefix="leases-"), []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def cmd(self, tgt, fun, arg=(), tgt_type="glob", timeout=None, full_return=False, kwarg=None):
        if isinstance(fun, list):
            return self.plan
        if fun == "sendmail_patch.lease":
            self.leases.append((tgt, *arg))
            ret = patch_lease.take(f"{self.lease_dir}/{tgt}", *arg, time.time())
            return {tgt: {"ret": ret, "retcode": 0}}
        self.calls.append((tgt, fun))
        if fun == "sendmail.upgrade":  # as the module takes them: the packages, one version
            assert list(arg) == [PACKAGES, NEW], arg
        if fun == "state.apply" and self.results.get("restarts", True):
            self.pids[tgt] = self.pids.get(tgt, 100) + 1
        ret = self.results.get((tgt, fun))
        if ret is None:
            ret = {
                "sendmail.compliance": {"verdict": "compliant", "package": {"version": NEW}},
                "state.apply": {"id": {"result": True, "changes": {}, "comment": "ok"}},
                "sendmail.upgrade": {"changes": {"sendmail-bin": {"old": OLD, "new": NEW}}},
                "sendmail.patch_level": {"package": {"version": NEW}},
                "sendmail.status": {"daemons": [{"kind": "mta", "pid": self.pids.get(tgt, 100)}]},
                "sendmail.services": {"changed": True, "actions": ["restart sendmail"]},
            }[fun]
        return {tgt: {"ret": ret, "retcode": 1 if str(ret).startswith("ERROR") else 0}}


@pytest.fixture
def fleet(monkeypatch):
    """The runner against a fake fleet: set ``plan``/``results``, read ``calls``; SMTP answers."""
    state = {"down": set()}

    def run(plan, results=None, targeted=None, lease_dir=None, **kwargs):
        client = FakeClient(plan, results, lease_dir)
        state["client"] = client
        monkeypatch.setattr(rolling_patch.salt.client, "get_local_client", lambda mopts: client)
        # Salt's own targeting: every minion the plan's job was for (by default, those answering).
        known = list(plan) if targeted is None else targeted
        monkeypatch.setattr(
            rolling_patch.salt.utils.minions,
            "CkMinions",
            lambda opts: type(
                "CkMinions", (), {"check_minions": lambda self, t, k: {"minions": known}}
            )(),
        )
        ret = runner.patch_relays(**kwargs)
        return ret, client.calls

    def greets(address, port=25, timeout=5):
        up = address not in state["down"]
        return up, f"answers SMTP on {address}" if up else f"{address}:{port} does not answer SMTP"

    monkeypatch.setattr(runner, "__opts__", {"timeout": 5}, raising=False)
    monkeypatch.setattr(smtp_probe, "greets", greets)
    monkeypatch.setattr(smtp_probe, "accepts", lambda *a, **k: (True, "accepts"))
    monkeypatch.setattr(smtp_probe, "WATCH_EVERY", 0.01)
    monkeypatch.setattr(rolling_patch, "CHECK_WAIT", 0.1)
    return run, state


PLAN = {
    "relay2": answers("server", "198.51.100.12"),
    "relay1": answers("server", "198.51.100.11"),
    "client": answers("client", "198.51.100.13"),
    "other-site": answers("server", "203.0.113.5", site="b"),
}
STEPS = ("sendmail.status", "sendmail.upgrade", "state.apply", "sendmail.status")
CHECKS = ("sendmail.patch_level", "sendmail.compliance")


def test_the_plan_lists_a_sites_relays_in_order_and_changes_nothing(fleet):
    run, _ = fleet
    ret, calls = run(PLAN, site="a", test=True)
    assert [
        (r["minion"], r["address"], r["installed"], r["candidate"], r["result"]) for r in ret["relays"]
    ] == [("relay1", "198.51.100.11", OLD, NEW, None), ("relay2", "198.51.100.12", OLD, NEW, None)]
    assert ret["relays"][0]["packages"] == PACKAGES
    assert ret["silent"] == []
    assert (ret["result"], ret["retcode"]) == (None, 0)
    assert calls == []


def test_relays_are_patched_one_after_the_other_each_checked(fleet):
    run, _ = fleet
    ret, calls = run(PLAN, site="a")
    # Each relay: its MTA's pid, the upgrade (its own restart held back), the role, the pid
    # again (the role restarted it: no second restart), the checks.
    assert [c for c in calls if c[0] != "other-site"] == [
        (relay, fun) for relay in ("relay1", "relay2") for fun in (*STEPS, *CHECKS)
    ]
    assert [r["result"] for r in ret["relays"]] == [True, True]
    assert (ret["result"], ret["retcode"]) == (True, 0)
    assert ret["comment"] == "patched 2 relay(s), 0 already up to date"


def test_every_site_in_turn_when_no_site_is_named(fleet):
    run, _ = fleet
    ret, _ = run(PLAN)
    assert [(r["site"], r["minion"]) for r in ret["relays"]] == [
        ("a", "relay1"),
        ("a", "relay2"),
        ("b", "other-site"),
    ]


def test_a_relay_already_down_stops_the_run_before_anything_changes(fleet):
    run, smtp = fleet
    smtp["down"].add("198.51.100.12")
    ret, calls = run(PLAN, site="a")
    assert calls == []
    assert ret["relays"][0]["result"] is False
    assert (
        "refused, nothing changed: the site would not be served while it restarts "
        "([198.51.100.12]: 198.51.100.12:25 does not answer" in ret["relays"][0]["comment"]
    )
    assert ret["relays"][1]["comment"] == "not patched: the run stopped at relay1"
    assert ret["retcode"] == 1
    # force=True takes the risk.
    forced, calls = run(PLAN, site="a", force=True)
    assert ("relay1", "sendmail.upgrade") in calls
    assert forced["relays"][0]["result"] is True
    # relay2 was down before and still is after its upgrade: that fails, and says so.
    assert "does not answer SMTP" in forced["relays"][1]["comment"]


def test_a_failed_upgrade_stops_the_run_and_says_why(fleet):
    run, _ = fleet
    failure = (
        "ERROR: Problem encountered installing package(s). Additional info follows:\n\nerrors:\n"
        "    - Running scope as unit\n    - E: Sub-process /usr/bin/dpkg returned an error code (1)"
    )
    results = {
        ("relay1", "sendmail.upgrade"): failure,
        ("relay1", "pkg.version"): {"sendmail-bin": OLD, "sendmail-base": NEW},
    }
    ret, calls = run(PLAN, results, site="a")
    first, second = ret["relays"]
    assert first["result"] is False
    assert "E: Sub-process /usr/bin/dpkg returned an error code (1)" in first["comment"]
    assert f"installed now: sendmail-base {NEW}, sendmail-bin {OLD}" in first["comment"]
    assert "Running scope" not in first["comment"]
    assert second["result"] is None and not [c for c in calls if c[0] == "relay2"]
    assert ret["comment"].startswith("stopped at relay1: the upgrade failed")


def test_a_relay_that_is_not_compliant_after_its_upgrade_stops_the_run(fleet):
    run, _ = fleet
    drifted = {
        "verdict": "drifted",
        "findings": [{"id": "exposed-listener"}],
        "package": {"version": NEW},
    }
    ret, _ = run(PLAN, {("relay1", "sendmail.compliance"): drifted}, site="a")
    assert "but it is drifted: ['exposed-listener']" in ret["relays"][0]["comment"]
    assert ret["relays"][1]["result"] is None


def test_nothing_to_patch_changes_nothing(fleet):
    run, _ = fleet
    plan = {"relay1": answers("server", "198.51.100.11", candidate=None)}
    ret, calls = run(plan, site="a")
    assert calls == []
    assert ret["relays"][0]["comment"] == f"up to date ({OLD})"
    assert (ret["result"], ret["retcode"]) == (True, 0)
    planned, calls = run(plan, site="a", test=True)
    assert calls == []
    assert (planned["result"], planned["comment"]) == (True, "would patch 0 relay(s), 1 up to date")


def test_an_unknown_site_is_an_error(fleet):
    run, _ = fleet
    ret, _ = run(PLAN, site="nowhere")
    assert ret["retcode"] == 1 and "no relay" in ret["comment"] and "site nowhere" in ret["comment"]


def test_where_clients_reach_a_relay():
    assert rolling_patch._endpoint([{"address": "0.0.0.0", "port": 25}], ["198.51.100.11"]) == (
        "198.51.100.11",
        25,
    )
    assert rolling_patch._endpoint([{"address": "198.51.100.9", "port": 25}], ["198.51.100.11"]) == (
        "198.51.100.9",
        25,
    )
    assert rolling_patch._endpoint([{"address": "127.0.0.1", "port": 25}], ["198.51.100.11"]) == (
        None,
        25,
    )
    assert rolling_patch._endpoint([], []) == (None, 25)


def test_a_relay_whose_host_is_down_counts_and_its_silent_minion_stops_the_run(fleet):
    # relay2's host is down: its minion does not answer the plan, its SMTP does not answer.
    run, smtp = fleet
    smtp["down"].add("198.51.100.12")
    plan = {name: PLAN[name] for name in ("relay1", "client")}
    ret, calls = run(plan, targeted=["relay1", "relay2", "client"], site="a")
    assert calls == [] and ret["retcode"] == 1 and ret["result"] is False
    assert ret["silent"] == ["relay2"]
    assert ret["comment"].startswith("refused, nothing changed: relay2 did not answer the plan")
    # test=True says the same: it would not patch the site's last serving relay.
    planned, _ = run(plan, targeted=["relay1", "relay2", "client"], site="a", test=True)
    assert planned["result"] is False and planned["silent"] == ["relay2"]
    # force=True goes on without the silent minion and past the check that the rest of the site
    # serves: the operator takes the risk.
    forced, calls = run(plan, targeted=["relay1", "relay2", "client"], site="a", force=True)
    assert forced["relays"][0]["result"] is True  # force: the operator took the risk
    assert ("relay1", "sendmail.upgrade") in calls


def test_a_listed_relay_that_is_not_targeted_still_counts(fleet):
    # Only relay1 is targeted; the site's pillar lists relay2 too, which is down.
    run, smtp = fleet
    smtp["down"].add("198.51.100.12")
    ret, calls = run({"relay1": PLAN["relay1"]}, site="a", tgt="relay1")
    assert (
        calls == []
        and "[198.51.100.12]: 198.51.100.12:25 does not answer" in ret["relays"][0]["comment"]
    )
    # Site b's second relay has no minion anywhere, and answers SMTP: other-site may go.
    ret, _ = run({"other-site": PLAN["other-site"]}, site="b")
    assert ret["relays"][0]["result"] is True


def test_a_sites_only_relay_is_not_taken_down(fleet):
    run, _ = fleet
    alone = answers("server", "198.51.100.11")
    alone["sendmail.settings"]["site_relays"]["relays"] = ["[198.51.100.11]"]
    ret, calls = run({"relay1": alone}, site="a")
    assert calls == []
    assert (
        "it is the site's only relay: its clients queue while it restarts" in ret["relays"][0]["comment"]
    )


def test_the_mta_is_restarted_once_by_the_run_when_the_role_did_not(fleet):
    run, _ = fleet
    ret, calls = run(PLAN, {"restarts": False}, site="a")
    assert [fun for relay, fun in calls if relay == "relay1"] == [
        *STEPS,
        "sendmail.services",
        *CHECKS,
    ]
    assert "restarted its MTA on the new sendmail" in ret["relays"][0]["comment"]


def test_the_probes_stay_within_the_relays_rate_limit(fleet, monkeypatch):
    run, _ = fleet
    watched = []
    real_watch = smtp_probe.Watch

    def watch(address, port, every=smtp_probe.WATCH_EVERY):
        watched.append(every)
        return real_watch(address, port, every=0.01)

    monkeypatch.setattr(smtp_probe, "Watch", watch)
    # Default client_rate (30 a minute): one look every 4 s, half of what the relay allows.
    plan = {
        name: answers("server", address, client_rate=None)
        for name, address in (("relay1", "198.51.100.11"), ("relay2", "198.51.100.12"))
    }
    for entry in plan.values():
        del entry["sendmail.settings"]["limits"]
    planned, _ = run(plan, site="a", test=True)
    assert [r["probe_every"] for r in planned["relays"]] == [4.0, 4.0]
    slow = {"relay1": answers("server", "198.51.100.11", client_rate=12), "relay2": PLAN["relay2"]}
    run(slow, site="a")
    assert watched[0] == 10.0  # 6 looks a minute against a limit of 12


def test_each_relay_goes_out_only_while_the_run_holds_every_leases_of_its_site(fleet):
    run, state = fleet
    ret, _ = run(PLAN, site="a")
    assert ret["result"] is True
    leases = state["client"].leases
    holder = leases[0][1]
    assert holder.startswith("patch_relays on ")
    # Per relay: both of site a's leases taken in order, then given back in reverse.
    taken = [(minion, holder, 5 * 600 // 5 * 3) for minion in ("relay1", "relay2")]
    given = [(minion, holder, 0) for minion in ("relay2", "relay1")]
    assert leases == (taken + given) * 2


def test_a_site_another_run_holds_is_waited_for_then_refused_changing_nothing(
    fleet, monkeypatch, tmp_path
):
    run, _ = fleet
    patch_lease.take(f"{tmp_path}/relay2", "patch_relays on the other master", 3600, time.time())
    monkeypatch.setattr(rolling_patch.time, "sleep", lambda seconds: None)
    ret, calls = run(PLAN, site="a", lease_dir=str(tmp_path), timeout=20)
    assert ret["result"] is False
    assert (
        "another patch run holds the site (relay2's patch lease is held by patch_relays on the other master"
        in (ret["relays"][0]["comment"])
    )
    assert [fun for _, fun in calls if fun in ("sendmail.upgrade", "state.apply")] == []
    # What it took meanwhile it gave back: relay1 is free for the other run.
    assert patch_lease.take(f"{tmp_path}/relay1", "x", 10, time.time())["granted"] is True


def test_two_runs_at_once_never_have_two_relays_of_a_site_out_together(fleet, monkeypatch, tmp_path):
    """Two runners (two masters) against the same relays' leases: one relay out at a time."""
    del fleet  # its fake SMTP looks
    out, overlaps, lock = set(), [], threading.Lock()

    class Watch:
        def __init__(self, address, port, every):
            self.address, self.down = address, 0.0

        def __enter__(self):
            with lock:
                if out:
                    overlaps.append((set(out), self.address))
                out.add(self.address)
            time.sleep(0.2)  # out of service a while: the other run would start here
            return self

        def __exit__(self, *exc):
            with lock:
                out.discard(self.address)
            return False

    monkeypatch.setattr(rolling_patch.smtp_probe, "Watch", Watch)
    monkeypatch.setattr(patch_lease, "WAIT_EVERY", 0.05)
    results = []
    monkeypatch.setattr(
        rolling_patch.salt.client,
        "get_local_client",
        lambda mopts: FakeClient(PLAN, lease_dir=str(tmp_path)),
    )
    monkeypatch.setattr(
        rolling_patch.salt.utils.minions,
        "CkMinions",
        lambda opts: type(
            "CkMinions", (), {"check_minions": lambda self, t, k: {"minions": list(PLAN)}}
        )(),
    )

    def one_run():
        results.append(rolling_patch.run({"id": "a-master"}, lambda text: None, "a", timeout=30))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert [r["result"] for r in results] == [True, True]
