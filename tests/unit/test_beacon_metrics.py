"""The metrics beacon (_beacons/sendmail_metrics.py), called as Salt calls it, with the real schema."""

import pytest

from saltext.sendmail.shared import schema
from tests.unit.support import load

beacon = load("_beacons/sendmail_metrics.py")


@pytest.fixture
def minion(monkeypatch):
    written = []

    def metrics(textfile_dir, interval=None):
        # Salt strips the interval before beacon(): the module then reads pillar's.
        assert interval is None
        written.append(textfile_dir)

    monkeypatch.setattr(
        beacon,
        "__salt__",
        {
            "sendmail.validate": lambda config, part: schema.problems_of(part, config),
            "sendmail.metrics": metrics,
        },
        raising=False,
    )
    return written


def test_each_call_writes_the_textfile_and_fires_nothing(minion):
    config = [{"interval": 60}, {"textfile_dir": "/var/lib/prometheus/node-exporter"}]
    assert beacon.validate(config) == (True, "valid sendmail_metrics beacon configuration")
    # Salt takes the interval out and adds the beacon's name before the call.
    assert beacon.beacon([config[1], {"_beacon_name": "sendmail_metrics"}]) == []
    assert minion == ["/var/lib/prometheus/node-exporter"]


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ([{"interval": 60}], "beacons:sendmail_metrics:textfile_dir: required"),
        ([{"textfile_dir": "/x"}], "beacons:sendmail_metrics:interval: required"),
        ([{"interval": 60}, {"textfile_dir": "x/y"}], "'x/y' is not a plain absolute path"),
        ([{"interval": -1}, {"textfile_dir": "/x"}], "interval: -1 is not a number of seconds above 0"),
        ([{"interval": 60}, {"textfile_dir": "/x"}, {"checks": []}], "checks: unknown key"),
        ("textfile_dir: /x", "must be a list of settings"),
        (
            [{"interval": 60}, "textfile_dir: /x"],
            "settings are mappings (- interval: 60), not 'textfile_dir: /x'",
        ),
    ],
)
def test_bad_settings_are_refused_naming_them(minion, config, said):
    valid, comment = beacon.validate(config)
    assert valid is False and said in comment, comment
    assert minion == []
