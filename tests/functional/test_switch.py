"""sendmail.switch and sendmail.check_role through Salt's loader, on each vendor's switch file."""

import pathlib
import shutil

import pytest

from tests.support.snapshot import snapshot

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


def test_debian_client_switch_then_nothing_to_do(world, sendmail):
    result = sendmail.switch("client", msp_interval="20m")
    assert result["changed"] is True
    assert result["files"][str(world.sendmail_conf)]["DAEMON_MODE"] == {"old": "Daemon", "new": "None"}
    report = sendmail.status()["switches"]["debian"]
    assert (report["DAEMON_MODE"], report["QUEUE_MODE"], report["MSP_MODE"]) == (
        "None",
        "None",
        "Daemon",
    )
    # Debian's comments and other settings are kept.
    text = world.sendmail_conf.read_text()
    assert 'DAEMON_HOSTSTATS="No";' in text
    assert "# DAEMON_MODE=" in text
    before = snapshot(world.root)
    again = sendmail.switch("client", msp_interval="20m")
    assert (again["changed"], again["files"]) == (False, {})
    assert snapshot(world.root) == before


def test_switch_test_mode_writes_nothing(world, sendmail):
    before = snapshot(world.root)
    result = sendmail.switch("server", queue_interval="30m", test=True)
    assert result["changed"] is True
    assert result["files"][str(world.sendmail_conf)]["QUEUE_INTERVAL"] == {"old": "10m", "new": "30m"}
    assert snapshot(world.root) == before


def test_hands_off_is_respected(world, sendmail):
    with world.sendmail_conf.open("a") as handle:
        handle.write('HANDS_OFF="Yes";\n')
    before = snapshot(world.root)
    with pytest.raises(Exception, match="HANDS_OFF"):
        sendmail.switch("client")
    assert snapshot(world.root) == before


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"role": "nullclient"}, "role"),
        ({"role": "client", "queue_interval": "7 minutes"}, "queue_interval"),
        ({"role": "client", "msp_interval": "1h; reboot"}, "msp_interval"),
        ({"role": "client", "msp_runner": "none"}, "msp_runner"),
        ({"role": "client", "msp_runner": False}, "msp_runner"),
    ],
)
def test_bad_switch_values_change_nothing(world, sendmail, kwargs, said):
    before = snapshot(world.root)
    with pytest.raises(Exception, match=said):
        sendmail.switch(**kwargs)
    assert snapshot(world.root) == before


def test_redhat_and_freebsd_files(world, set_lookup):
    sysconfig = world.root / "sysconfig-sendmail"
    defaults, rc_conf = world.root / "defaults-rc.conf", world.root / "rc.conf"
    shutil.copy(DATA / "redhat-sysconfig-sendmail", sysconfig)
    shutil.copy(DATA / "freebsd-defaults-rc.conf", defaults)
    shutil.copy(DATA / "freebsd-rc.conf", rc_conf)
    switch_files = {"redhat": str(sysconfig), "freebsd": [str(defaults), str(rc_conf)]}
    sendmail = set_lookup({**world.lookup, "switch_files": switch_files})
    result = sendmail.switch("client", queue_interval="1h")
    assert set(result["files"]) == {str(sysconfig), str(rc_conf)}
    assert sysconfig.read_text() == "DAEMON=no\nQUEUE=1h\nSMQUEUE=15m\n"
    # The vendor's defaults file is never edited.
    assert defaults.read_text() == (DATA / "freebsd-defaults-rc.conf").read_text()
    switches = sendmail.status()["switches"]
    assert switches["redhat"]["DAEMON"] == "no"
    assert switches["freebsd"]["sendmail_enable"] == "NO"
    assert switches["freebsd"]["sendmail_msp_queue_enable"] == "YES"
    assert sendmail.switch("client", queue_interval="1h")["changed"] is False


def test_check_role_refuses_a_client_of_itself(sendmail):
    assert sendmail.check_role("client", "[mail.example.com]") == []
    [problem] = sendmail.check_role("client", "[127.0.0.1]")
    assert "this host" in problem
    [problem] = sendmail.check_role("client", "tests.example.test")
    assert "this host" in problem
    with pytest.raises(Exception, match="relay"):
        sendmail.check_role("client", None)
    assert sendmail.check_role("server") == []
