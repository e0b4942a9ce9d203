"""
A master of masters (``order_masters: True``) with two syndics, each on its own lower master; one
site whose two relays sit under different syndics, and a client of it under the first. Every minion
is a sendmail host of its own (scripts/host-run). From the top: the report judges every minion
below the syndics and says the same as the lower masters together; a stopped minion is
unreachable; the minions of a stopped syndic are unreachable too, by name (the inventory); the
rolling patch plans the site's relays across both syndics, and a relay's patch lease taken from the
top holds against its own master.

Salt 3006 only: on 3008.4 a syndic does not pass a job down (its log stops after it connects;
the top sees "syndic-1: Minion did not return"): docs/topics/fleet-view.md, "Syndics".
"""

import contextlib
import pathlib
import shutil
import tempfile

import pytest
import yaml

from tests.fleet.test_fleet import wait_for
from tests.support.fleet import MASTER_ADDRESS, formula_roots, host_minion, minion_overrides
from tests.support.netns import NETWORK, linked_netns
from tests.support.syndic import running_syndic, stop

# (minion id, netns, host number on 198.51.100.0/24, syndic)
MINIONS = (
    ("relay-s1", "sys-r1", 41, "syndic-1"),
    ("client-s1", "sys-c1", 43, "syndic-1"),
    ("relay-s2", "sys-r2", 42, "syndic-2"),
)
SYNDICS = ("syndic-1", "syndic-2")
HOSTS = "127.0.0.1\tlocalhost\n" + "".join(
    f"{NETWORK}.{number}\t{name}.example.test {name}\n" for name, _, number, _ in MINIONS
)
PILLAR = {
    "sendmail": {
        "site_grain": "site",
        "sites": {
            "site-s": {
                "relays": [f"[{NETWORK}.41]", f"[{NETWORK}.42]"],
                "relay_domains": ["example.com", NETWORK],
                "masquerade_as": "example.com",
            }
        },
        "lookup": {"pkgs": []},
    }
}
TOP = {"base": {"*": ["sendmail"], "relay-*": ["relay"], "client-*": ["client"]}}
pytestmark = pytest.mark.salt_line(3006, only=True)


@pytest.fixture(scope="module")
def fleet(salt_factories):
    """The master of masters, two lower masters with their syndics, three minions, role applied."""
    work = tempfile.mkdtemp(prefix="sys-", dir="/tmp")
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        for _, netns, number, _ in MINIONS:
            stack.enter_context(linked_netns(netns, number))
        pillar_root = pathlib.Path(work, "pillar")
        pillar_root.mkdir()
        (pillar_root / "top.sls").write_text(yaml.safe_dump(TOP))
        (pillar_root / "sendmail.sls").write_text(yaml.safe_dump(PILLAR))
        (pillar_root / "relay.sls").write_text(yaml.safe_dump({"sendmail": {"role": "server"}}))
        (pillar_root / "client.sls").write_text(yaml.safe_dump({"sendmail": {"role": "client"}}))
        roots = formula_roots(f"{work}/formula")
        common = {
            "interface": MASTER_ADDRESS,
            "file_roots": {"base": [str(roots)]},
            "pillar_roots": {"base": [str(pillar_root)]},
        }
        top = salt_factories.salt_master_daemon(
            "mom", overrides={**common, "order_masters": True, "auto_accept": True}
        )
        stack.enter_context(top.started(start_timeout=120))
        lower, syndics, minions = {}, {}, {}
        for syndic_id in SYNDICS:
            master = salt_factories.salt_master_daemon(f"low-{syndic_id}", overrides=common)
            stack.enter_context(master.started(start_timeout=120))
            lower[syndic_id] = master
            syndics[syndic_id] = stack.enter_context(running_syndic(syndic_id, master, top))
        for minion_id, netns, _, syndic_id in MINIONS:
            overrides = minion_overrides("site-s")
            minion = host_minion(lower[syndic_id], work, minion_id, netns, HOSTS, overrides)
            stack.enter_context(minion.started(start_timeout=120))
            minions[minion_id] = minion
        everyone = {name for name, _, _, _ in MINIONS}
        assert wait_for(lambda: everyone <= ping(top), timeout=120), (
            "a test.ping from the master of masters does not reach every minion below its syndics: "
            + " ".join(syndic_log(master) for master in lower.values())
        )
        # The formula is applied from each lower master: from the top, Salt's CLI would also
        # wait its whole timeout for the syndics' own ids, which never return a job.
        for master in (top, *lower.values()):
            master.salt_run_cli(timeout=120).run("saltutil.sync_all")
        for master in lower.values():
            below = master.salt_cli(timeout=300)
            below.run("saltutil.sync_all", minion_tgt="*")
            applied = below.run("state.apply", "sendmail", minion_tgt="*")
            assert applied.returncode == 0, applied.stdout
        yield {"top": top, "lower": lower, "syndics": syndics, "minions": minions}


def syndic_log(master):
    logs = pathlib.Path(master.config["root_dir"], "logs")
    return "".join(
        f"{path}: {path.read_text()[-1500:]}" for path in logs.glob("syndic.*") if path.is_file()
    )


def ping(master):
    """The minions that answer a test.ping from ``master`` (the syndics' own ids never do)."""
    ret = master.salt_cli(timeout=15).run("test.ping", minion_tgt="*")
    return {minion for minion, answer in (ret.data or {}).items() if answer is True}


def report(master, *args):
    """The report from ``master``; its jobs wait 10 s (salt-run's own --timeout would be 180)."""
    ret = master.salt_run_cli(timeout=180).run("sendmail.report", "timeout=10", *args, "--out=json")
    assert isinstance(ret.data, dict), (ret.stdout, ret.stderr, syndic_log(master))
    return ret.data


def test_the_report_through_syndics_is_what_the_lower_masters_say_together(fleet, tmp_path):
    found = report(fleet["top"], f"textfile_dir={tmp_path}")
    assert sorted(found["minions"]) == ["client-s1", "relay-s1", "relay-s2"], found["summary"]
    below = [report(master) for master in fleet["lower"].values()]
    together = {
        kind: sorted(m for part in below for m in part["summary"][kind]) for kind in found["summary"]
    }
    assert found["summary"] == together
    assert found["summary"]["compliant"] == ["client-s1", "relay-s1", "relay-s2"], found["summary"]
    assert found["retcode"] == 0 == max(part["retcode"] for part in below)
    assert found["syndics"] == {
        "syndic-1": {"answered": True, "minions": ["client-s1", "relay-s1"]},
        "syndic-2": {"answered": True, "minions": ["relay-s2"]},
    }
    # The fleet metrics on the master of masters cover the minions below both syndics.
    metrics = pathlib.Path(found["textfile"]).read_text()
    assert 'sendmail_fleet_minions{verdict="compliant"} 3' in metrics
    assert 'sendmail_fleet_minions{verdict="unreachable"} 0' in metrics
    assert 'sendmail_fleet_syndic_up{syndic="syndic-2"} 1' in metrics


def test_the_rolling_patch_plans_the_sites_relays_across_both_syndics(fleet):
    plan = (
        fleet["top"]
        .salt_run_cli(timeout=300)
        .run("sendmail.patch_relays", "site=site-s", "test=True", "--out=json")
    )
    assert plan.data["silent"] == [], plan.stdout
    assert [relay["minion"] for relay in plan.data["relays"]] == ["relay-s1", "relay-s2"], plan.stdout
    assert all(relay["site"] == "site-s" for relay in plan.data["relays"])


def test_a_relays_patch_lease_taken_from_the_top_holds_against_its_own_master(fleet):
    """What patch_relays does to each relay before it goes out, through a syndic to one minion."""
    top = fleet["top"].salt_cli(timeout=60)
    below = fleet["lower"]["syndic-2"].salt_cli(timeout=60)
    taken = top.run("sendmail_patch.lease", "patch run on mom", "seconds=600", minion_tgt="relay-s2")
    assert taken.data["granted"] is True, taken.stdout
    refused = below.run("sendmail_patch.lease", "run below", "seconds=600", minion_tgt="relay-s2")
    assert (refused.data["granted"], refused.data["holder"]) == (False, "patch run on mom")
    top.run("sendmail_patch.lease", "patch run on mom", "seconds=0", minion_tgt="relay-s2")
    again = below.run("sendmail_patch.lease", "run below", "seconds=0", minion_tgt="relay-s2")
    assert again.data["granted"] is True


def test_a_stopped_minion_and_the_minions_of_a_stopped_syndic_are_unreachable_by_name(fleet):
    fleet["minions"]["client-s1"].terminate()  # below syndic-1, which stays up
    found = report(fleet["top"])
    assert found["summary"]["unreachable"] == ["client-s1"], found["summary"]
    assert found["minions"]["client-s1"]["problem"].startswith("Minion did not return")
    assert found["summary"]["compliant"] == ["relay-s1", "relay-s2"]
    assert found["retcode"] == 1
    stop(fleet["syndics"]["syndic-2"])  # relay-s2's minion runs on; nothing reaches it
    found = report(fleet["top"])
    assert found["summary"]["unreachable"] == ["client-s1", "relay-s2"], found["summary"]
    assert "its syndic syndic-2 did not answer" in found["minions"]["relay-s2"]["problem"]
    assert "syndic" not in found["minions"]["client-s1"]["problem"]
    assert found["syndics"] == {
        "syndic-1": {"answered": True, "minions": ["client-s1", "relay-s1"]},
        "syndic-2": {"answered": False, "minions": ["relay-s2"]},
    }
    assert found["summary"]["compliant"] == ["relay-s1"]
    assert found["retcode"] == 1
