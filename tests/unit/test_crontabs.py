"""The crontabs submodule through its public names (saltext.sendmail.shared.crontabs)."""

import itertools
import pathlib

import pytest

from saltext.sendmail.shared import crontabs

REPO = pathlib.Path(__file__).resolve().parents[2]


DATA = REPO / "tests" / "data"


REPO = pathlib.Path(__file__).resolve().parents[2]


DATA = REPO / "tests" / "data"


def test_cron_runners_debian_cron_d():
    text = (DATA / "debian-cron.d-sendmail").read_text()
    runners = crontabs.parse_runners(text, "/etc/cron.d/sendmail", has_user_field=True)
    # Debian's MSP line is active; the MTA line is commented out.
    assert [(r["queue"], r["schedule"], r["user"]) for r in runners] == [
        ("msp", "*/20 * * * *", "smmsp")
    ]


def test_cron_runners_root_crontab():
    text = (
        "# m h dom mon dow command\n"
        "0 * * * * /usr/sbin/sendmail -q\n"
        "*/15 * * * * /usr/sbin/sendmail -Ac -q\n"
        "@hourly /usr/lib/sendmail -q -v >/dev/null 2>&1\n"
        "5 * * * * /usr/bin/mailq\n"
        "#0 * * * * /usr/sbin/sendmail -q\n"
    )
    runners = crontabs.parse_runners(text, "root", has_user_field=False)
    assert [(r["queue"], r["schedule"]) for r in runners] == [
        ("mta", "0 * * * *"),
        ("msp", "*/15 * * * *"),
        ("mta", "@hourly"),
    ]


def test_cron_schedule_spreads_a_fleet_and_is_stable():
    minutes = {crontabs.schedule("15m", f"host{number}.example.test")[0] for number in range(40)}
    assert len(minutes) > 1
    for spec in minutes:
        values = [int(value) for value in spec.split(",")]
        assert len(values) == 4
        assert [later - earlier for earlier, later in itertools.pairwise(values)] == [15, 15, 15]
        assert 0 <= values[0] < 15
    assert crontabs.schedule("1h", "a.example.test") == crontabs.schedule("1h", "a.example.test")
    minute, hour = crontabs.schedule("6h", "a.example.test")
    assert 0 <= int(minute) < 60
    assert len(hour.split(",")) == 4


@pytest.mark.parametrize("interval", ["7m", "90m", "5h", "2d"])
def test_cron_schedule_refuses_uneven_intervals(interval):
    with pytest.raises(Exception, match="evenly"):
        crontabs.schedule(interval, "a.example.test")
