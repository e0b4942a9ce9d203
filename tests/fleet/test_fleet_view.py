"""
The fleet view (README): ``salt-run sendmail.report``, the ``sendmail`` grain for targeting, and the
drift beacon with the formula's reactor, on the same three real minions and real master as
test_fleet.py, which runs first (the fixture is per package). The tests run in order.
"""

import time

from tests.fleet.test_fleet import highstate, listens, states, wait_for

MINIONS = ("client-a", "client-b", "relay1-a")
CLIENT_A = "198.51.100.12"


def report(fleet):
    ret = fleet["master"].salt_run_cli(timeout=120).run("sendmail.report")
    assert isinstance(ret.data, dict), ret.stdout + ret.stderr
    return ret


def grain_targets(fleet, role):
    ret = fleet["cli"].run("-G", "test.ping", minion_tgt=f"sendmail:role:{role}")
    return sorted(ret.data) if isinstance(ret.data, dict) else []


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

    ret = report(fleet)
    assert ret.returncode == 0, ret.data
    assert ret.data["summary"] == {
        "compliant": list(MINIONS),
        "drifted": [],
        "unreachable": [],
        "not_sendmail": [],
    }
    roles = {
        minion: (entry["expected"], entry["observed"]) for minion, entry in ret.data["minions"].items()
    }
    assert roles == {"client-a": ("client", "client"), "client-b": ("client", "client"),
                     "relay1-a": ("server", "server")}  # fmt: skip
    # The default output: a table.
    table = fleet["master"].salt_run_cli(timeout=120).run("sendmail.report", "--out=sendmail_report")
    assert table.stdout.splitlines()[0].split() == [
        "minion",
        "state",
        "expected",
        "observed",
        "version",
        "why",
    ]
    assert "compliant: 3  drifted: 0  unreachable: 0  not sendmail: 0" in table.stdout


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
    added = fleet["cli"].run("beacons.add", "sendmail", "[{interval: 2}]", minion_tgt="client-a")
    assert added.data["result"] is True, added.data
    time.sleep(5)  # the beacon's first look: what it compares with
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
