"""The relays submodule through its public names (_modules/sendmail/relays.py)."""

import pytest
from sendmail import relays


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
