"""The service_manager submodule through its public names (_modules/sendmail/service_manager.py)."""

import pytest
from sendmail import platform, service_manager


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
