"""The service_manager submodule through its public names (saltext.sendmail.shared.service_manager)."""

import pytest

from saltext.sendmail.shared import cf, platform, service_manager


def service_actions(os_family, *args):
    return service_manager.actions(platform.lookup(os_family), *args)


NOTHING_RUNS = {"mta": False, "msp_runner": False}


MTA_RUNS = {"mta": True, "msp_runner": False}


def test_redhat_client_stops_both_units_and_leaves_the_msp_queue_to_cron():
    # sm-client.service has BindTo=sendmail.service: it cannot run without the MTA, and an enabled
    # sm-client would bring the MTA back at boot. So a client's MSP queue is run by cron.
    redhat = platform.lookup("RedHat")
    assert service_manager.msp_runner_for(redhat, "client", "daemon") == "cron"
    assert service_manager.msp_runner_for(redhat, "server", "daemon") == "daemon"
    assert service_manager.msp_runner_for(platform.lookup("Debian"), "client", "daemon") == "daemon"
    enabled = {"sendmail": True, "sm-client": True}
    assert service_actions(
        "RedHat", "client", {"mta": True, "msp_runner": True}, enabled, "cron", False
    ) == [
        ("disable", "sendmail"),
        ("stop", "sendmail"),
        ("disable", "sm-client"),
        ("stop", "sm-client"),
    ]


def test_redhat_enables_sm_client_again_after_its_also_disabled_it():
    # A role that wants the MTA off but an MSP unit on (no vendor does today): Also= disables
    # sm-client with sendmail, so it is enabled again after.
    actions = service_actions(
        "RedHat", "client", MTA_RUNS, {"sendmail": True, "sm-client": True}, "daemon", False
    )
    assert actions.index(("enable", "sm-client")) > actions.index(("disable", "sendmail"))


def test_redhat_server_and_converged_hosts():
    running = {"mta": True, "msp_runner": True}
    enabled = {"sendmail": True, "sm-client": True}
    assert service_actions("RedHat", "server", running, enabled, "daemon", False) == []
    assert service_actions("RedHat", "server", running, enabled, "daemon", True) == [
        ("restart", "sendmail"),
        ("restart", "sm-client"),
    ]


@pytest.mark.parametrize("os_family", ["Debian", "FreeBSD", "Solaris"])
def test_one_service_hosts_restart_only_when_the_daemons_differ(os_family):
    enabled = {"sendmail": True, "sendmail-client": True}
    client_running = {"mta": False, "msp_runner": True}
    assert service_actions(os_family, "client", client_running, enabled, "daemon", False) == []
    assert service_actions(os_family, "client", MTA_RUNS, enabled, "daemon", False) == [
        ("stop", "sendmail"),
        ("start", "sendmail"),
    ]
    # A client whose MSP queue is run by cron needs no daemon at all: stop, no start.
    assert service_actions(os_family, "client", MTA_RUNS, enabled, "cron", False) == [
        ("stop", "sendmail")
    ]
    assert ("enable", "sendmail") in service_actions(
        os_family, "server", NOTHING_RUNS, {}, "daemon", False
    )


def _mta(pid, refusing=None):
    return {"pid": pid, "kind": "mta", "refusing": refusing}


def test_a_server_is_done_only_when_every_socket_of_its_cf_listens():
    parsed = cf.parse(
        "Mlocal, P=/bin/true, A=true\n"
        "O DaemonPortOptions=Family=inet, Name=MTA-v4, Port=smtp\n"
        "O DaemonPortOptions=Family=inet, Name=MSA, Port=submission, Addr=127.0.0.1\n"
    )
    sockets = service_manager.mta_sockets(parsed)
    assert sockets == [{"address": "0.0.0.0", "port": 25}, {"address": "127.0.0.1", "port": 587}]
    listening = [{"address": "0.0.0.0", "port": 25, "pid": 7}]
    assert service_manager.unheard(True, sockets, listening, [_mta(7)]) == [
        "the MTA does not listen on 127.0.0.1:587"
    ]
    listening.append({"address": "127.0.0.1", "port": 587, "pid": 7})
    assert service_manager.unheard(True, sockets, listening, [_mta(7)]) == []
    # An MTA refusing for load closes its sockets until the load falls: it still plays the role.
    refusing = _mta(7, {"daemon": "MTA-v4", "reason": "load average: 40"})
    assert service_manager.unheard(True, sockets, [], [refusing]) == []


def test_a_cf_without_daemon_options_listens_where_sendmail_does_by_default():
    parsed = cf.parse("Mlocal, P=/bin/true, A=true\n")
    assert service_manager.mta_sockets(parsed) == [{"address": "0.0.0.0", "port": 25}]
    # IPv6 addresses are compared as addresses, not as strings.
    v6 = [{"address": "::", "port": 25}]
    assert service_manager.unheard(True, v6, [{"address": "0:0::0", "port": 25, "pid": 1}], []) == []


def test_a_role_without_an_mta_has_no_sendmail_listening_and_ignores_other_programs():
    listening = [
        {"address": "127.0.0.1", "port": 25, "pid": 9},  # sendmail, still up
        {"address": "0.0.0.0", "port": 587, "pid": 40},  # another program: not ours to judge
    ]
    assert service_manager.unheard(False, [], listening, [_mta(9)]) == [
        "sendmail (pid 9) still listens on 127.0.0.1:25"
    ]
    assert service_manager.unheard(False, [], listening[1:], [_mta(9)]) == []


def test_a_failed_unit_is_reset_before_it_is_started_and_a_healthy_one_is_not():
    calls = []

    def run_ok(cmd, **kwargs):
        calls.append(cmd)
        return {"retcode": 0, "stdout": "", "stderr": ""}

    assert service_manager.clear_failed(lambda cmd, **kw: {"retcode": 1}, "sm-client") is False
    assert service_manager.clear_failed(run_ok, "sendmail") is True
    assert calls == [
        ["systemctl", "is-failed", "--quiet", "sendmail"],
        ["systemctl", "reset-failed", "sendmail"],
    ]


@pytest.mark.parametrize("mta", [True, False])
@pytest.mark.parametrize("msp_runner", [True, False])
def test_the_role_that_brings_daemons_back_is_the_one_that_runs_them(mta, msp_runner):
    # The state puts daemons back after a failure with role_of; converge runs daemons_of(role).
    running = {"mta": mta, "msp_runner": msp_runner}
    assert service_manager.daemons_of(*service_manager.role_of(running)) == running
