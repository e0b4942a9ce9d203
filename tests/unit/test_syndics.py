"""The fleet through syndics: who must answer, the inventory that outlives a dead syndic."""

import os
import time

import pytest
import salt.payload
import salt.utils.jid

from saltext.sendmail.shared import syndics


@pytest.fixture(autouse=True)
def keys_of_syndics(monkeypatch):
    """A master of masters holds its syndics' keys: they are what its targets match."""
    monkeypatch.setattr(syndics, "targeted", lambda opts, tgt, tgt_type: ["syndic-1", "syndic-2"])


def opts_for(tmp_path, **more):
    return {
        "cachedir": str(tmp_path),
        "hash_type": "sha256",
        "order_masters": True,
        "syndic_wait": 0,
        **more,
    }


def name_minions(opts, jid, syndic, minions):
    """What Salt's local_cache writes when a syndic names the minions of a job."""
    directory = salt.utils.jid.jid_dir(jid, os.path.join(opts["cachedir"], "jobs"), "sha256")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f".minions.{syndic}.p"), "wb") as handle:
        salt.payload.dump(minions, handle)


def heard_from(opts, *names):
    os.makedirs(os.path.join(opts["cachedir"], "syndics"), exist_ok=True)
    for name in names:
        open(os.path.join(opts["cachedir"], "syndics", name), "w").close()


class FakeClient:
    """LocalClient's two calls ask uses: the job is 'published' by naming what the syndics say."""

    def __init__(self, opts, named, returns):
        self.opts, self.named, self.returns, self.published = opts, named, returns, []

    def cmd_async(self, tgt, fun, arg, tgt_type):
        self.published.append((tgt, fun, arg, tgt_type))
        for syndic, minions in self.named.items():
            name_minions(self.opts, "20261208010000000000", syndic, minions)
        return "20261208010000000000"

    def get_cache_returns(self, jid):
        return {minion: {"ret": answer} for minion, answer in self.returns.items()}


def test_only_a_master_of_masters_goes_through_syndics():
    assert syndics.is_master_of_masters({"order_masters": True})
    assert not syndics.is_master_of_masters({})


def test_a_target_by_id_matches_the_inventory_offline_and_one_by_grain_matches_nothing():
    minions = ["relay-1", "client-1", "relay-2"]
    assert syndics.by_id(minions, "relay-*", "glob") == ["relay-1", "relay-2"]
    assert syndics.by_id(minions, "client-1,relay-2", "list") == ["client-1", "relay-2"]
    assert syndics.by_id(minions, ["relay-1"], "list") == ["relay-1"]
    assert syndics.by_id(minions, "^relay-[12]$", "pcre") == ["relay-1", "relay-2"]
    assert syndics.by_id(minions, "site:a", "grain") == []


def test_a_whole_fleet_answer_replaces_the_syndics_list_and_a_narrower_one_only_adds():
    before = {"s1": ["a", "b"], "s2": ["c"]}
    assert syndics.merged(before, {"s1": ["a", "d"]}, everyone=True) == {
        "s1": ["a", "d"],
        "s2": ["c"],
    }
    assert syndics.merged(before, {"s1": ["d"]}, everyone=False)["s1"] == ["a", "b", "d"]


def test_the_inventory_is_written_whole_and_a_broken_one_reads_as_empty(tmp_path):
    opts = opts_for(tmp_path)
    assert syndics.read_inventory(opts) == {}
    syndics.write_inventory(opts, {"s1": ["b", "a"]})
    assert syndics.read_inventory(opts) == {"s1": ["a", "b"]}
    assert os.listdir(os.path.dirname(syndics.inventory_path(opts))) == ["syndic-minions.json"]
    with open(syndics.inventory_path(opts), "w", encoding="utf-8") as handle:
        handle.write('{"s1": ')
    assert syndics.read_inventory(opts) == {}


def test_the_syndics_named_for_a_job_come_from_the_job_cache(tmp_path):
    opts = opts_for(tmp_path)
    name_minions(opts, "20261208010000000001", "syndic-1", ["m2", "m1"])
    assert syndics.named(opts, "20261208010000000001") == {"syndic-1": ["m1", "m2"]}
    assert syndics.named({**opts, "master_job_cache": "redis"}, "20261208010000000001") == {}


def test_every_syndic_answering_gives_every_minion_and_no_syndic_id(tmp_path):
    opts = opts_for(tmp_path)
    heard_from(opts, "syndic-1", "syndic-2")
    client = FakeClient(
        opts, {"syndic-1": ["m1", "m2"], "syndic-2": ["m3"]}, {"m1": True, "m2": True, "m3": True}
    )
    returns, status = syndics.ask(opts, client, "*", "glob", "test.ping", timeout=0)
    assert returns == {"m1": True, "m2": True, "m3": True}
    assert status == {
        "syndic-1": {"answered": True, "minions": ["m1", "m2"]},
        "syndic-2": {"answered": True, "minions": ["m3"]},
    }
    assert syndics.read_inventory(opts) == {"syndic-1": ["m1", "m2"], "syndic-2": ["m3"]}


def test_a_silent_minion_and_the_minions_of_a_dead_syndic_are_named(tmp_path):
    opts = opts_for(tmp_path)
    heard_from(opts, "syndic-1", "syndic-2")
    syndics.write_inventory(opts, {"syndic-1": ["m1", "m2"], "syndic-2": ["m3", "m4"]})
    client = FakeClient(opts, {"syndic-1": ["m1", "m2"]}, {"m1": True})
    returns, status = syndics.ask(opts, client, "m[1-3]", "glob", "test.ping", timeout=0)
    assert returns == {
        "m1": True,
        "m2": syndics.SILENT,
        "m3": "Minion did not return. [its syndic syndic-2 did not answer]",
    }
    assert status["syndic-2"] == {"answered": False, "minions": ["m3"]}
    # The dead syndic's minions stay in the inventory for the next report.
    assert syndics.read_inventory(opts)["syndic-2"] == ["m3", "m4"]


def test_when_every_known_syndic_answered_the_report_does_not_wait_out_syndic_wait(tmp_path):
    opts = opts_for(tmp_path, syndic_wait=30)
    heard_from(opts, "syndic-1", "syndic-2")
    client = FakeClient(opts, {"syndic-1": ["m1"], "syndic-2": ["m2"]}, {"m1": True, "m2": True})
    started = time.monotonic()
    returns, _ = syndics.ask(opts, client, "*", "glob", "test.ping", timeout=30)
    assert returns == {"m1": True, "m2": True}
    assert time.monotonic() - started < 5
