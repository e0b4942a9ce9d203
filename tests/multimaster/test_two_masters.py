"""
Two masters (Salt's hot multi-master: both hold the same master key, every minion connects to
both): a relay and a client of one site, each its own sendmail host (scripts/host-run), answer
either master. The fleet report is the same from either master; a drift event reaches both
masters' reactors, and the role is re-applied once: the second run waits for the host's lock and
finds nothing to change (never a failed state).
"""

import contextlib
import pathlib
import shutil
import tempfile
import time

import pytest
import yaml

from tests.fleet.test_fleet import ROLE_STATE, wait_for
from tests.fleet.test_fleet_view import listens
from tests.support.fleet import MASTER_ADDRESS, formula_roots, host_minion, minion_overrides
from tests.support.netns import NETWORK, linked_netns

# (minion id, netns, host number on 198.51.100.0/24)
MINIONS = (("mm-relay", "smm-r", 21), ("mm-client", "smm-c", 22))
HOSTS = "127.0.0.1\tlocalhost\n" + "".join(
    f"{NETWORK}.{number}\t{name}.example.test {name}\n" for name, _, number in MINIONS
)
PILLAR = {
    "sendmail": {
        "site_grain": "site",
        "sites": {
            "site-m": {
                "relays": [f"[{NETWORK}.21]"],
                "relay_domains": ["example.com", NETWORK],
                "masquerade_as": "example.com",
            }
        },
        "lookup": {"pkgs": []},
    }
}
TOP = {"base": {"*": ["sendmail"], "mm-relay": ["relay"], "mm-client": ["client"]}}
CLIENT = f"{NETWORK}.22"
# Two masters and two hosts (about 90 s): once, on the 3008 line, when test.sh runs both lines.
pytestmark = pytest.mark.salt_line(3008)


@pytest.fixture(scope="module")
def masters(salt_factories):
    """Two masters with one key, one file_roots and pillar, the reactor on both; two minions."""
    work = tempfile.mkdtemp(prefix="smm-", dir="/tmp")
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        for _, netns, number in MINIONS:
            stack.enter_context(linked_netns(netns, number))
        pillar_root = pathlib.Path(work, "pillar")
        (pillar_root / "sendmail").mkdir(parents=True)
        (pillar_root / "top.sls").write_text(yaml.safe_dump(TOP))
        (pillar_root / "sendmail" / "init.sls").write_text(yaml.safe_dump(PILLAR))
        (pillar_root / "relay.sls").write_text(yaml.safe_dump({"sendmail": {"role": "server"}}))
        (pillar_root / "client.sls").write_text(yaml.safe_dump({"sendmail": {"role": "client"}}))
        (pillar_root / "top.sls").write_text(
            yaml.safe_dump({"base": {"*": ["sendmail"], "mm-relay": ["relay"], "mm-client": ["client"]}})
        )
        roots = formula_roots(f"{work}/formula")
        common = {
            "interface": MASTER_ADDRESS,
            "file_roots": {"base": [str(roots)]},
            "pillar_roots": {"base": [str(pillar_root)]},
            "reactor": [{"salt/beacon/*/sendmail/": ["salt://reactor/sendmail-drift.sls"]}],
        }
        first = salt_factories.salt_master_daemon("mm-1", overrides=common)
        second = salt_factories.salt_master_daemon("mm-2", overrides={**common, "auto_accept": True})
        stack.enter_context(first.started(start_timeout=120))
        # Hot multi-master: the masters share one key (Salt's multimaster tutorial).
        for name in ("master.pem", "master.pub"):
            shutil.copy(
                pathlib.Path(first.config["pki_dir"]) / name,
                pathlib.Path(second.config["pki_dir"]) / name,
            )
        stack.enter_context(second.started(start_timeout=120))
        both = [f"{MASTER_ADDRESS}:{master.config['ret_port']}" for master in (first, second)]
        minions = {}
        for minion_id, netns, _ in MINIONS:
            overrides = {**minion_overrides("site-m"), "master": both}
            minion = host_minion(first, work, minion_id, netns, HOSTS, overrides)
            stack.enter_context(minion.started(start_timeout=120))
            minions[minion_id] = minion
        for master in (first, second):
            assert wait_for(lambda m=master: ping_both(m), timeout=60), (
                f"{master.id} does not reach the minions"
            )
            master.salt_run_cli(timeout=120).run("saltutil.sync_all")
        cli = first.salt_cli(timeout=300)
        cli.run("saltutil.sync_all", minion_tgt="*")
        applied = cli.run("state.apply", "sendmail", minion_tgt="*")
        assert applied.returncode == 0, applied.stdout
        yield {"masters": (first, second), "cli": cli, **minions}


def ping_both(master):
    ret = master.salt_cli(timeout=30).run("test.ping", minion_tgt="*")
    return ret.returncode == 0 and set(ret.data or {}) == {name for name, _, _ in MINIONS}


def test_the_report_is_the_same_from_either_master(masters):
    reports = [
        master.salt_run_cli(timeout=120).run("sendmail.report", "--out=json")
        for master in masters["masters"]
    ]
    first, second = (report.data for report in reports)
    assert first["summary"]["compliant"] == ["mm-client", "mm-relay"], first["summary"]
    assert first["summary"] == second["summary"]
    assert first["retcode"] == second["retcode"] == 0
    assert {m: e["observed"] for m, e in first["minions"].items()} == {
        m: e["observed"] for m, e in second["minions"].items()
    }


def test_one_drift_event_through_two_reactors_reapplies_the_role_once(masters, event_listener):
    cli, client = masters["cli"], masters["mm-client"]
    added = time.time()
    cli.run(
        "beacons.add", "sendmail", "[{interval: 2}, {emit_at_startup: true}]", minion_tgt="mm-client"
    )
    first_look = event_listener.wait_for_events(
        [(masters["masters"][0].id, "salt/beacon/mm-client/sendmail/")], timeout=90, after_time=added
    )
    assert first_look.found_all_events
    start = time.time()
    client.host("/usr/sbin/sendmail", "-bd", "-q15m")  # an MTA started by hand: drift
    assert wait_for(lambda: listens(CLIENT)), "the hand-started MTA does not listen"
    try:
        assert wait_for(lambda: not listens(CLIENT), timeout=120), "no reactor undid the drift"
        time.sleep(15)  # the other master's run, if it came later
        drifted = [
            event
            for master in masters["masters"]
            for event in event_listener.get_events(
                [(master.id, "salt/beacon/mm-client/sendmail/")], after_time=start
            )
            if event.data.get("drifted")
        ]
        # The beacon's event reached both masters (each minion connection fires it to its master).
        assert {event.daemon_id for event in drifted} == {master.id for master in masters["masters"]}
        # Each master keeps the returns of every job (the minion returns to both): one per jid.
        runs = {
            event.data["jid"]: event.data
            for master in masters["masters"]
            for event in event_listener.get_events(
                [(master.id, "salt/job/*/ret/mm-client")], after_time=start
            )
            if event.data.get("fun") == "state.apply"
        }
        published = {
            master.id
            for master in masters["masters"]
            for event in event_listener.get_events([(master.id, "salt/job/*/new")], after_time=start)
            if event.data.get("fun") == "state.apply"
        }
        assert published == {master.id for master in masters["masters"]}  # both reactors acted
        shown = {jid: (run.get("retcode"), str(run.get("return"))[:120]) for jid, run in runs.items()}
        assert len(runs) >= 2 and all(run.get("retcode") == 0 for run in runs.values()), shown
        roles = [
            result
            for run in runs.values()
            for key, result in run["return"].items()
            if key.endswith(f"_|-{ROLE_STATE}_|-sendmail_|-role")
        ]
        assert len(roles) == len(runs) and all(role["result"] is True for role in roles), shown
        assert sum(bool(role["changes"]) for role in roles) == 1, shown
    finally:
        cli.run("beacons.delete", "sendmail", minion_tgt="mm-client")


def test_a_relays_patch_lease_taken_from_one_master_is_refused_to_the_other_until_given_back(masters):
    first, second = (master.salt_cli(timeout=60) for master in masters["masters"])
    taken = first.run("sendmail_patch.lease", "patch run on mm-1", "seconds=600", minion_tgt="mm-relay")
    assert taken.data["granted"] is True, taken.stdout
    refused = second.run(
        "sendmail_patch.lease", "patch run on mm-2", "seconds=600", minion_tgt="mm-relay"
    )
    assert (refused.data["granted"], refused.data["holder"]) == (False, "patch run on mm-1")
    first.run("sendmail_patch.lease", "patch run on mm-1", "seconds=0", minion_tgt="mm-relay")
    again = second.run("sendmail_patch.lease", "patch run on mm-2", "seconds=0", minion_tgt="mm-relay")
    assert again.data["granted"] is True
