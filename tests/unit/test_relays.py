"""The relays submodule through its public names (saltext.sendmail.shared.relays)."""

import pytest

from saltext.sendmail.shared import flood, limits_table, relays, rolling_patch


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("esmtp:[mail.example.com]", ("esmtp", "[mail.example.com]")),
        ("[IPv6:2001:db8::25]", (None, "[IPv6:2001:db8::25]")),
        ("mail.example.com", (None, "mail.example.com")),
        ("", (None, None)),
    ],
)
def test_split_relay(value, expected):
    assert relays.split(value) == expected


def test_is_local_host():
    for host in ("[127.0.0.1]", "localhost", "[IPv6:::1]", "", "box.example.test"):
        assert relays.is_local(host, {"box.example.test"}), host
    assert not relays.is_local("[relay.example.test]", {"box.example.test"})
    assert not relays.is_local("[198.51.100.25]")


def test_smart_host_lists_name_their_mailer():
    assert relays.smart_host(["mailhub"]) == "mailhub"
    # Without "relay:", sendmail would read the one-label "mailhub" as a mailer name.
    assert relays.smart_host(["mailhub", "[mx2.example.com]"]) == "relay:mailhub:[mx2.example.com]"
    assert relays.smart_host(["esmtp:[a.example.com]", "[b.example.com]"]) == (
        "esmtp:[a.example.com]:[b.example.com]"
    )
    assert relays.smart_host([]) == ""


def test_a_domain_that_starts_with_a_digit_is_no_network():
    assert relays.networks(["3com.com", "198.51.100", "example.com"]) == ["198.51.100"]


def test_3com_com_is_a_domain_everywhere_and_198_51_100_a_network():
    # One rule (relays.networks) for every place that tells them apart.
    assert relays.networks(["3com.com", "198.51.100", "10", "example.com"]) == ["198.51.100", "10"]
    access = flood.access_text(limits_table.SERVER_DEFAULTS, ["3com.com", "198.51.100"])
    assert "ClientConn:198.51.100\t0" in access
    assert "3com.com" not in access
    answers = {
        "sendmail.compliance": {"expected": "server", "package": {"name": "sendmail-bin"}},
        "sendmail.settings": {"site": "a", "relay_domains": ["198.51.100", "3com.com"]},
        "sendmail.listeners": [{"address": "0.0.0.0", "port": 25}],
        "grains.item": {"ipv4": ["127.0.0.1", "198.51.100.11"]},
    }
    # The rolling patch checks a relay by a message for its site's first domain.
    assert rolling_patch._relay("m", answers)["domain"] == "3com.com"
