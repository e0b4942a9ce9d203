"""The switches submodule through its public names (saltext.sendmail.shared.switches)."""

import pathlib

import pytest

from saltext.sendmail.shared import switches

REPO = pathlib.Path(__file__).resolve().parents[2]


DATA = REPO / "tests" / "data"


REPO = pathlib.Path(__file__).resolve().parents[2]


DATA = REPO / "tests" / "data"


def edit(kind, text, role, msp_runner="daemon"):
    values = switches.role_values(kind, role, "15m", "20m", msp_runner)
    style = switches.STYLES.get(kind, '{key}="{value}"')
    return switches.parse_shell_vars(
        switches.set_shell_vars(text, values, style)
    ), switches.set_shell_vars(text, values, style)


def test_debian_sendmail_conf():
    values = switches.parse_shell_vars((DATA / "debian-sendmail.conf").read_text())
    assert values["DAEMON_MODE"] == "Daemon"
    # QUEUE_MODE="${DAEMON_MODE}" is expanded like sh does.
    assert values["QUEUE_MODE"] == "Daemon"
    assert values["MSP_INTERVAL"] == "20m"


def test_shell_vars_ignore_commands_and_comments():
    text = "sendmail_enable=\"NO\"  # no daemon\nif true; then\nrm -rf /\nfi\nsendmail_flags='-L sm-mta -bd -q30m'\n"
    assert switches.parse_shell_vars(text) == {
        "sendmail_enable": "NO",
        "sendmail_flags": "-L sm-mta -bd -q30m",
    }


def test_redhat_client_turns_the_daemon_off_in_sysconfig():
    text = (DATA / "redhat-sysconfig-sendmail").read_text()
    values, new_text = edit("redhat", text, "client")
    assert new_text == "DAEMON=no\nQUEUE=15m\nSMQUEUE=20m\n"
    assert values == {"DAEMON": "no", "QUEUE": "15m", "SMQUEUE": "20m"}


def test_solaris_client_empties_mode_and_keeps_the_comments():
    text = (DATA / "solaris-default-sendmail").read_text()
    values, new_text = edit("solaris", text, "client")
    assert values["MODE"] == ""
    assert values["CLIENTQUEUEINTERVAL"] == "20m"
    # The vendor's commented examples stay; the settings are appended after them.
    assert new_text.startswith(text)
    assert 'MODE=""' in new_text.splitlines()
    server, _ = edit("solaris", new_text, "server")
    assert server["MODE"] == "-bd"


def test_freebsd_client_keeps_the_msp_queue_runner():
    defaults = (DATA / "freebsd-defaults-rc.conf").read_text()
    rc_conf = (DATA / "freebsd-rc.conf").read_text()
    _, new_rc = edit("freebsd", rc_conf, "client")
    # rc.conf is read after /etc/defaults/rc.conf: the effective values are the client's.
    effective = switches.parse_shell_vars(defaults + new_rc)
    assert effective["sendmail_enable"] == "NO"
    assert effective["sendmail_submit_enable"] == "NO"
    assert effective["sendmail_outbound_enable"] == "NO"
    assert effective["sendmail_msp_queue_enable"] == "YES"
    assert effective["sendmail_msp_queue_flags"] == "-L sm-msp-queue -Ac -q20m"
    # NONE would stop the MSP queue runner too and strand mail: never written.
    assert "NONE" not in new_rc
    assert new_rc.startswith(rc_conf)


def test_debian_modes_compare_without_case():
    assert not switches.differs("debian", "DAEMON_MODE", "None", "none")
    assert switches.differs("debian", "MSP_INTERVAL", "20M", "20m")
    assert switches.differs("redhat", "DAEMON", None, "no")


def test_set_shell_vars_replaces_every_assignment_in_place():
    text = "# DAEMON=yes\nDAEMON=yes\nexport QUEUE=1h\nDAEMON=yes\n"
    assert switches.set_shell_vars(text, {"DAEMON": "no"}, "{key}={value}") == (
        "# DAEMON=yes\nDAEMON=no\nexport QUEUE=1h\nDAEMON=no\n"
    )


def test_unknown_switch_kind_is_refused():
    with pytest.raises(Exception, match="no daemon switch"):
        switches.role_values("aix", "client", "15m", "15m", "daemon")
