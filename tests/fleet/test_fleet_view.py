"""
The fleet view (docs): ``salt-run sendmail.report``, the ``sendmail`` grain for targeting, and the
drift beacon with the formula's reactor, on the same three real minions and real master as
test_fleet.py, which runs first (the fixture is per package). The tests run in order.
"""

import contextlib
import json
import pathlib
import shutil
import tempfile
import time

import pytest

from tests.fleet.conftest import HOSTS
from tests.fleet.test_fleet import highstate, listens, states, wait_for
from tests.support.fleet import HostMinion, minion_overrides, prepare_host
from tests.support.netns import NETWORK, linked_netns

MINIONS = ("client-a", "client-b", "relay1-a")
CLIENT_A = "198.51.100.12"


def report(fleet):
    ret = fleet["master"].salt_run_cli(timeout=120).run("sendmail.report")
    assert isinstance(ret.data, dict), ret.stdout + ret.stderr
    return ret


def grain_targets(fleet, role):
    ret = fleet["cli"].run("-G", "test.ping", minion_tgt=f"sendmail:role:{role}")
    return sorted(ret.data) if isinstance(ret.data, dict) else []


def beacon_first_look(fleet, event_listener, minion):
    """
    Add the sendmail beacon to ``minion`` and wait for its first look (what later looks are
    compared with), announced by its start-up event: on a loaded machine that look can come
    seconds after beacons.add returns, and a change made before it would go unseen.
    """
    added_at = time.time()
    added = fleet["cli"].run(
        "beacons.add", "sendmail", "[{interval: 2}, {emit_at_startup: true}]", minion_tgt=minion
    )
    assert added.data["result"] is True, added.data
    first = event_listener.wait_for_events(
        [(fleet["master"].id, f"salt/beacon/{minion}/sendmail/")], timeout=90, after_time=added_at
    )
    assert first.found_all_events, f"the sendmail beacon of {minion} never took its first look"
    assert next(iter(first.matches)).data["startup"] is True


def start_mta_by_hand(fleet):
    """What an operator does on a client: a listening MTA, started by hand (no init script)."""
    fleet["client-a"].host("/usr/sbin/sendmail", "-bd", "-q15m")
    assert wait_for(lambda: listens(CLIENT_A)), "the hand-started MTA does not listen"


def test_report_lists_every_minion_with_its_expected_and_observed_role(fleet):
    # test_fleet.py's sync brought the grain and the beacon too (they are in file_roots).
    fleet["cli"].run("saltutil.sync_all", minion_tgt="*")
    installed = fleet["cli"].run("grains.get", "sendmail:installed", minion_tgt="*")
    assert installed.data == dict.fromkeys(MINIONS, True), installed.stdout
    master_sync = fleet["master"].salt_run_cli(timeout=120).run("saltutil.sync_all")
    assert "runners.sendmail" in master_sync.data["runners"], master_sync.stdout
    assert "output.sendmail_report" in master_sync.data["output"], master_sync.stdout
    assert highstate(fleet).returncode == 0

    # The scheduled job, not the report, asks each minion's package manager: wait for it.
    def checked():
        ret = fleet["cli"].run("sendmail.status", minion_tgt="*")
        return all(isinstance(r, dict) and r["package"]["checked"] for r in ret.data.values())

    deadline = time.monotonic() + 90
    while not checked():
        assert time.monotonic() < deadline, "the scheduled sendmail.patch_level never ran"
        time.sleep(3)
    # Each status job is a process of its own: the version probe and the patch level are
    # answered from the minion's cache files, written once (a probe would write its file again).
    cache = pathlib.Path(fleet["client-a"].config["cachedir"])
    kept = {name: (cache / name).stat().st_mtime_ns for name in ("sendmail-binary.json",)}
    checked_at = json.loads((cache / "sendmail-patch-level.json").read_text())["checked"]
    for _ in range(2):
        fleet["cli"].run("sendmail.status", minion_tgt="client-a")
    assert {name: (cache / name).stat().st_mtime_ns for name in kept} == kept
    assert json.loads((cache / "sendmail-patch-level.json").read_text())["checked"] == checked_at
    ret = report(fleet)
    assert ret.returncode == 0, ret.data
    assert ret.data["summary"] == {
        "compliant": list(MINIONS),
        "at_risk": [],
        "needs_patch": [],
        "drifted": [],
        "misconfigured": [],
        "unmanaged": [],
        "not_sendmail": [],
        "unreachable": [],
        "unpatched": [],
    }
    # The patch level of each: this machine's Debian 12 package, which fixed CVE-2023-51765.
    for entry in ret.data["minions"].values():
        assert entry["package"]["name"] == "sendmail-bin"
        assert entry["advisories"] == {"open": [], "fixed": ["CVE-2023-51765"]}
    roles = {
        minion: (entry["expected"], entry["observed"]) for minion, entry in ret.data["minions"].items()
    }
    assert roles == {
        "client-a": ("client", "client"),
        "client-b": ("client", "client"),
        "relay1-a": ("server", "server"),
    }
    # The default output: a table.
    table = fleet["master"].salt_run_cli(timeout=120).run("sendmail.report", "--out=sendmail_report")
    assert table.stdout.splitlines()[0].split() == [
        "minion",
        "state",
        "expected",
        "observed",
        "package",
        "why",
    ]
    assert (
        "compliant: 3  at risk: 0  needs patch: 0  drifted: 0  misconfigured: 0  unmanaged: 0  "
        "not sendmail: 0  unreachable: 0  unpatched: 0" in table.stdout
    )


def test_grains_target_what_each_host_is(fleet):
    # The highstate refreshed them (the role state does after a change).
    assert wait_for(lambda: grain_targets(fleet, "client") == ["client-a", "client-b"])
    assert grain_targets(fleet, "server") == ["relay1-a"]


def test_an_mta_started_by_hand_is_drift_until_the_highstate(fleet):
    start_mta_by_hand(fleet)
    ret = report(fleet)
    assert ret.returncode != 0
    assert ret.data["summary"]["drifted"] == ["client-a"]
    entry = ret.data["minions"]["client-a"]
    assert (entry["expected"], entry["observed"]) == ("client", "server")
    assert "exposed-listener" in [finding["id"] for finding in entry["findings"]]
    # The grain follows after a refresh.
    fleet["cli"].run("saltutil.refresh_grains", minion_tgt="client-a")
    assert wait_for(lambda: grain_targets(fleet, "server") == ["client-a", "relay1-a"])

    applied = highstate(fleet)
    assert applied.returncode == 0, applied.data
    assert states(applied, "client-a")["sendmail-init-sendmail-role"]["changes"]
    assert not listens(CLIENT_A)
    after = report(fleet)
    assert after.returncode == 0, after.data
    assert after.data["summary"]["compliant"] == list(MINIONS)
    assert wait_for(lambda: grain_targets(fleet, "server") == ["relay1-a"])


def test_the_beacon_and_the_reactor_undo_drift_without_anyone(fleet, event_listener):
    beacon_first_look(fleet, event_listener, "client-a")
    start = time.time()
    start_mta_by_hand(fleet)
    events = event_listener.wait_for_events(
        [(fleet["master"].id, "salt/beacon/client-a/sendmail/")], timeout=60, after_time=start
    )
    assert events.found_all_events, "no sendmail beacon event reached the master"
    event = next(iter(events.matches))
    assert event.data["drifted"] is True, event.data
    assert "listeners" in event.data["changes"]
    # The client listened on nothing; the nullclient cf's MTA opens 25 (and the MSA port 587).
    assert event.data["changes"]["listeners"]["old"] == []
    assert "0.0.0.0:25" in event.data["changes"]["listeners"]["new"]
    # The reactor re-applies the role: the listener goes, with nobody running anything.
    assert wait_for(lambda: not listens(CLIENT_A), timeout=90), "the reactor did not undo the drift"
    fleet["cli"].run("beacons.delete", "sendmail", minion_tgt="client-a")


def test_a_relay_lacking_a_fix_needs_patch_and_the_reactor_leaves_it_alone(
    fleet, event_listener, relay_lacking_a_fix
):
    judged = fleet["cli"].run("sendmail.compliance", minion_tgt="relay1-a").data
    assert judged["verdict"] == "needs_patch", judged
    assert [f["id"] for f in judged["findings"]] == ["advisory-open"], judged["findings"]
    start = time.time()
    beacon_first_look(fleet, event_listener, "relay1-a")
    try:
        events = event_listener.get_events(
            [(fleet["master"].id, "salt/beacon/relay1-a/sendmail/")], after_time=start
        )
        event = next(event for event in events if event.data.get("startup"))
        assert (event.data["verdict"], event.data["drifted"]) == ("needs_patch", False), event.data
        # A role run cannot install a package: the reactor leaves it to the rolling patch. Time
        # for the reactor to act, had it been drift (it re-applies within seconds: the test above).
        time.sleep(10)
        applied = [
            job.data
            for job in event_listener.get_events(
                [(fleet["master"].id, "salt/job/*/new")], after_time=start
            )
            if job.data.get("fun") == "state.apply" and "relay1-a" in (job.data.get("minions") or [])
        ]
        assert applied == []
        # The report lists it once, as needing the patch, and as unpatched.
        ret = report(fleet)
        assert ret.data["summary"]["needs_patch"] == ["relay1-a"], ret.data["summary"]
        assert ret.data["summary"]["drifted"] == [] and ret.data["summary"]["unpatched"] == ["relay1-a"]
        assert ret.returncode == 1
    finally:
        fleet["cli"].run("beacons.delete", "sendmail", minion_tgt="relay1-a")


OUTSIDER = "other-u"
OUTSIDER_ADDRESS = f"{NETWORK}.14"


@pytest.fixture(scope="module")
def outsider(fleet):
    """
    A fourth minion with sendmail but no sendmail:role: the common pillar reaches it (top '*'),
    no role does. The formula does not manage it; an operator runs its MTA by hand.
    """
    root = tempfile.mkdtemp(prefix="smf-ou-", dir="/tmp")
    hostname = f"{OUTSIDER}.example.test"
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        stack.enter_context(linked_netns("smf-ou", 14))
        prepare_host(root, hostname, HOSTS)
        minion = fleet["master"].salt_minion_daemon(
            OUTSIDER,
            overrides=minion_overrides("site-a"),
            factory_class=HostMinion,
            host_root=root,
            netns="smf-ou",
            hostname=hostname,
        )
        # Its key goes when it does: "salt '*'" must not wait for a host that is gone.
        stack.callback(fleet["master"].salt_key_cli().run, "-d", OUTSIDER, "-y")
        stack.enter_context(minion.started(start_timeout=120))
        fleet["cli"].run("saltutil.sync_all", minion_tgt=OUTSIDER)
        yield minion


def test_a_host_without_a_role_is_unmanaged_and_its_beacon_never_calls_for_the_role(
    fleet, outsider, event_listener
):
    beacon_first_look(fleet, event_listener, OUTSIDER)
    start = time.time()
    # Debian's default cf listens on loopback only: this operator opened it to the network.
    outsider.host(
        "/usr/sbin/sendmail", "-bd", "-q15m", "-ODaemonPortOptions=Name=MTA,Addr=0.0.0.0,Port=25"
    )
    assert wait_for(lambda: listens(OUTSIDER_ADDRESS)), "the outsider's MTA does not listen"
    events = event_listener.wait_for_events(
        [(fleet["master"].id, f"salt/beacon/{OUTSIDER}/sendmail/")], timeout=60, after_time=start
    )
    assert events.found_all_events, "no sendmail beacon event from the unmanaged host"
    event = next(iter(events.matches))
    assert (event.data["verdict"], event.data["drifted"]) == ("unmanaged", False), event.data
    assert "0.0.0.0:25" in event.data["changes"]["listeners"]["new"]
    # The report: unmanaged, and the managed ones comply, so it exits 0.
    ret = report(fleet)
    assert ret.returncode == 0, ret.data
    assert ret.data["summary"]["unmanaged"] == [OUTSIDER]
    assert ret.data["summary"]["compliant"] == list(MINIONS)
    # Nobody applied the role there: its MTA still listens after the reactor had every chance.
    time.sleep(10)
    assert listens(OUTSIDER_ADDRESS)
    fleet["cli"].run("beacons.delete", "sendmail", minion_tgt=OUTSIDER)


def test_a_minion_that_does_not_answer_is_unreachable(fleet, outsider):
    outsider.terminate()
    ret = fleet["master"].salt_run_cli(timeout=180).run("sendmail.report", "timeout=10")
    assert ret.returncode != 0
    assert ret.data["summary"]["unreachable"] == [OUTSIDER], ret.data["minions"][OUTSIDER]
    # Salt 3008 says "Minion did not return. [...]"; 3006's LocalClient gives False: no answer.
    problem = ret.data["minions"][OUTSIDER]["problem"]
    assert problem.startswith("Minion did not return") or problem == "did not answer", problem
    assert ret.data["summary"]["compliant"] == list(MINIONS)
