"""The allowlist submodule through its public names (saltext.sendmail.shared.allowlist)."""

import pytest

from saltext.sendmail.shared import allowlist


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("1h30m", 5400), ("00:15:00", 900), ("10", 600), ("2d", 172800), ("x", None)],
)
def test_duration_seconds(text, seconds):
    assert allowlist.duration_seconds(text) == seconds


@pytest.mark.parametrize(
    "relay",
    [
        "mail.example.com",
        "[mail.example.com]",
        "[192.0.2.1]",
        "[IPv6:2001:db8::25]",
        "esmtp:[mail.example.com]",
        "relay:mail.example.com",
        "smtp:[192.0.2.1]",
    ],
)
def test_valid_relay_forms_are_accepted(relay):
    assert allowlist.relay(relay) == relay


@pytest.mark.parametrize("interval", ["15", "fast", "", None, "0m", "1h 30m", True, "15m\n"])
def test_bad_intervals_are_refused(interval):
    with pytest.raises(Exception, match="queue_interval"):
        allowlist.interval(interval, "queue_interval")


@pytest.mark.parametrize("runner", ["none", False, None, "Daemon"])
def test_an_msp_queue_without_a_runner_is_refused(runner):
    with pytest.raises(Exception, match=r"msp_runner .*the MSP queue needs a runner"):
        allowlist.msp_runner(runner)


@pytest.mark.parametrize("domains", ["example.com", ["dnl.example.com"], ["a b"], [1], [""]])
def test_bad_relay_domains_are_refused(domains):
    with pytest.raises(Exception, match="relay_domains"):
        allowlist.relay_domains(domains)


def test_server_limits_have_safe_defaults_and_refuse_bad_values():
    assert allowlist.server_limits(None) == {
        "max_message_size": 26214400,
        "connection_rate_throttle": 10,
        "max_daemon_children": 40,
        "min_free_blocks": 25600,
        "client_connections": 10,
        "client_rate": 30,
        "greet_pause": 1000,
        "idle_timeout": 300,
        "queue_warn": None,
        "queue_return": None,
    }
    assert allowlist.server_limits({"max_message_size": 1000})["max_message_size"] == 1000
    assert allowlist.server_limits({"queue_return": "2d"})["queue_return"] == "2d"
    for bad in (
        {"max_message_size": 0},
        {"max_message_size": "10M"},
        {"max_daemon_children": True},
        {"rate": 5},
        [10],
        {"queue_return": 5},
        {"queue_warn": "4 hours"},
    ):
        with pytest.raises(Exception, match="limits"):
            allowlist.server_limits(bad)


def test_a_client_has_only_the_queue_timeouts():
    assert allowlist.queue_limits({"queue_warn": "1h"}) == {"queue_warn": "1h", "queue_return": None}
    with pytest.raises(Exception, match="unknown limit max_daemon_children"):
        allowlist.queue_limits({"max_daemon_children": 5})
