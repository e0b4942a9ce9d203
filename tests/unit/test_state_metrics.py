"""
The sendmail.metrics state's decisions with a fake ``__salt__``: Salt's beacons module as an
in-memory table, the real schema, a real textfile directory. (The fleet test runs it on real
minions with Salt's own beacons module: tests/fleet/test_metrics.py.)
"""

import importlib.util
import os
import pathlib

import pytest
import yaml
from salt.exceptions import CommandExecutionError

from saltext.sendmail.shared import metrics, schema

STATE_FILE = pathlib.Path(__file__).resolve().parents[2] / "_states" / "sendmail.py"


class FakeMinion:
    """A minion's beacons in memory and in its beacons.conf (under ``etc``, as Salt's save writes it)."""

    def __init__(self, etc, config, full=False):
        self.config, self.beacons, self.saved, self.writes, self.full = config, {}, 0, 0, full
        self.opts = {"conf_file": str(etc / "minion"), "default_include": "minion.d/*.conf"}
        self.beacons_conf = etc / "minion.d" / "beacons.conf"
        self.beacons_conf.parent.mkdir(parents=True, exist_ok=True)
        self.disk_full = False

    def functions(self):
        return {
            "config.get": lambda key, default=None: self.config,
            "sendmail.validate": lambda config: schema.problems_of("pillar", config),
            "sendmail.metrics": self.write,
            "beacons.list": lambda return_yaml, include_pillar: dict(self.beacons),
            "beacons.add": self.add,
            "beacons.modify": self.add,
            "beacons.delete": lambda name: {"result": self.beacons.pop(name, None) is not None},
            "beacons.save": self.save,
            "file.file_exists": os.path.isfile,
            "file.remove": os.unlink,
        }

    def write(self, textfile_dir, interval=None):
        # The refresh interval goes into the file (the stale alert reads it): pillar's.
        assert interval == metrics.settings(self.config or {})["interval"], interval
        if self.full:
            raise CommandExecutionError(
                f"cannot write {textfile_dir}/sendmail.prom: No space left on device"
            )
        self.writes += 1
        metrics.write(textfile_dir, metrics.HOST_FILE, "sendmail_metrics_timestamp_seconds 1\n")

    def add(self, name, data):
        self.beacons[name] = data
        return {"result": True}

    def save(self):
        if self.disk_full:  # Salt's save opens the file "w+" first: a full disk leaves it empty
            self.beacons_conf.write_text("")
            return {"result": False, "comment": "Unable to write to beacons file at x."}
        self.saved += 1
        self.beacons_conf.write_text(yaml.safe_dump({"beacons": self.beacons}))
        return {"result": True, "comment": "Beacons saved."}


def state(fake, test=False):
    spec = importlib.util.spec_from_file_location("sendmail_state", STATE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__salt__ = fake.functions()
    module.__opts__ = {**fake.opts, "test": test}
    return module.metrics


@pytest.fixture
def textfile_dir(tmp_path):
    path = tmp_path / "node-exporter"
    path.mkdir()
    return path


def test_predicted_then_made_then_nothing_more(tmp_path, textfile_dir):
    fake = FakeMinion(tmp_path, {"textfile_dir": str(textfile_dir), "interval": 30})
    predicted = state(fake, test=True)()
    assert predicted["result"] is None and set(predicted["changes"]) == {"textfile", "beacon"}
    assert (fake.beacons, fake.writes, list(textfile_dir.iterdir())) == ({}, 0, [])
    made = state(fake)()
    assert made["result"] is True and set(made["changes"]) == {"textfile", "beacon"}, made
    assert fake.beacons["sendmail_metrics"] == [
        {"beacon_module": "sendmail_metrics"},
        {"interval": 30},
        {"textfile_dir": str(textfile_dir)},
    ]
    assert fake.saved == 1 and (textfile_dir / "sendmail.prom").exists()
    again = state(fake)()
    assert (again["result"], again["changes"], fake.writes) == (True, {}, 1)


def test_a_stale_file_is_written_again(tmp_path, textfile_dir):
    fake = FakeMinion(tmp_path, {"textfile_dir": str(textfile_dir), "interval": 30})
    state(fake)()
    os.utime(textfile_dir / "sendmail.prom", (1, 1))
    ret = state(fake)()
    assert ret["changes"] == {"textfile": str(textfile_dir / "sendmail.prom")} and fake.writes == 2


@pytest.mark.parametrize(
    ("config", "said"),
    [
        (
            {"textfile_dir": "var/lib/x"},
            "sendmail:metrics:textfile_dir: 'var/lib/x' is not a plain absolute path",
        ),
        ({"interval": 0}, "sendmail:metrics:interval: 0 is not a number above 0"),
        ({"intervall": 60}, "sendmail:metrics:intervall: unknown key; did you mean interval?"),
        (
            {"textfile_dir": "/no/such/dir"},
            "/no/such/dir is not a directory: install prometheus-node-exporter",
        ),
    ],
)
def test_a_bad_setting_fails_naming_it_and_changes_nothing(tmp_path, config, said):
    fake = FakeMinion(tmp_path, config)
    ret = state(fake)()
    assert ret["result"] is False and said in ret["comment"], ret
    assert (ret["changes"], fake.beacons, fake.writes, fake.saved) == ({}, {}, 0, 0)


def test_without_the_pillar_the_beacon_and_its_file_go(tmp_path, textfile_dir):
    fake = FakeMinion(tmp_path, {"textfile_dir": str(textfile_dir)})
    state(fake)()
    (textfile_dir / "other.prom").write_text("x 1\n")
    fake.config = None
    predicted = state(fake, test=True)()
    assert predicted["result"] is None and set(predicted["changes"]) == {"textfile", "beacon"}
    assert "sendmail_metrics" in fake.beacons and (textfile_dir / "sendmail.prom").exists()
    removed = state(fake)()
    assert removed["result"] is True and set(removed["changes"]) == {"textfile", "beacon"}
    assert fake.beacons == {} and fake.saved == 2
    assert [path.name for path in textfile_dir.iterdir()] == ["other.prom"]  # only ours goes
    assert state(fake)()["changes"] == {}


def test_a_textfile_that_cannot_be_written_fails_naming_it_and_adds_no_beacon(tmp_path, textfile_dir):
    fake = FakeMinion(tmp_path, {"textfile_dir": str(textfile_dir)}, full=True)
    ret = state(fake)()
    assert ret["result"] is False and "No space left on device" in ret["comment"], ret
    assert (ret["changes"], fake.beacons, fake.saved) == ({}, {}, 0)


def test_a_beacon_a_killed_run_added_but_did_not_save_is_saved(tmp_path, textfile_dir):
    # Killed between beacons.add and beacons.save: the minion runs the beacon until it restarts.
    fake = FakeMinion(tmp_path, {"textfile_dir": str(textfile_dir)})
    state(fake)()
    fake.beacons_conf.write_text("")
    predicted = state(fake, test=True)()
    assert predicted["result"] is None and set(predicted["changes"]) == {"beacon"}
    assert fake.beacons_conf.read_text() == ""
    saved = state(fake)()
    assert saved["result"] is True and "was saved in beacons.conf" in saved["comment"], saved
    on_disk = yaml.safe_load(fake.beacons_conf.read_text())["beacons"]["sendmail_metrics"]
    assert on_disk == fake.beacons["sendmail_metrics"]
    assert state(fake)()["changes"] == {}


def test_a_beacon_a_killed_run_deleted_but_did_not_save_leaves_beacons_conf(tmp_path, textfile_dir):
    fake = FakeMinion(tmp_path, {"textfile_dir": str(textfile_dir)})
    state(fake)()
    fake.beacons.clear()  # deleted from memory; beacons.conf would bring it back at a restart
    fake.config = None
    removed = state(fake)()
    assert removed["result"] is True and "beacon" in removed["changes"], removed
    assert yaml.safe_load(fake.beacons_conf.read_text()) == {"beacons": {}}
    assert state(fake)()["changes"] == {}


def test_a_beacons_conf_that_cannot_be_saved_fails_the_state(tmp_path, textfile_dir):
    fake = FakeMinion(tmp_path, {"textfile_dir": str(textfile_dir)})
    fake.disk_full = True
    ret = state(fake)()
    assert ret["result"] is False and "not saved: Unable to write" in ret["comment"], ret
    # With room again, the next run sees beacons.conf without the beacon and saves it.
    fake.disk_full = False
    healed = state(fake)()
    assert healed["result"] is True and "was saved in beacons.conf" in healed["comment"], healed
    assert yaml.safe_load(fake.beacons_conf.read_text())["beacons"]["sendmail_metrics"]
    assert state(fake)()["changes"] == {}
