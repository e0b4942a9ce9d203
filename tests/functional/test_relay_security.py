"""
The server role as strangers see it: a relay built by sendmail.build_cf, run by the real sendmail on
198.51.100.1, and real SMTP clients (Python's smtplib) in two other network namespaces on the test
network: an outsider (198.51.100.32) and a host of the site's own network (198.51.100.31).
"""

import pytest

from tests.support import smtp_session
from tests.support.netns import NETWORK, bridge, linked_netns
from tests.support.release import VERSION_FORMS

SERVER = f"{NETWORK}.1"
INSIDER, OUTSIDER = 31, 32

# The classic ways to make a relay pass mail on to a foreign domain (example.org).
RELAY_TRICKS = [
    "<victim@example.org>",
    "<victim%example.org@relay.example.test>",
    f"<victim%example.org@[{SERVER}]>",
    '<"victim@example.org">',
    '<"victim@example.org"@relay.example.test>',
    "<@relay.example.test:victim@example.org>",
    f"<@[{SERVER}]:victim@example.org>",
    "<example.org!victim>",
    "<example.org!victim@relay.example.test>",
    "<victim@example.org@relay.example.test>",
]


def session(netns, steps):
    return smtp_session.session(netns, SERVER, steps)


@pytest.fixture
def relay(world, sendmail):
    """The server role's sendmail.cf, listening on the test network like a site's relay."""
    bridge()
    sendmail.build_cf("server", relay_domains=["example.com", f"{NETWORK}.{INSIDER}"])
    # Its name, so that the tricks can name "the relay itself".
    with world.hosts.open("a") as hosts:
        hosts.write(f"{SERVER}\trelay.example.test\n")
    world.serve_and_queue(SERVER)
    with linked_netns(f"smt-in{INSIDER}", INSIDER), linked_netns(f"smt-out{OUTSIDER}", OUTSIDER):
        yield world


def test_nothing_an_outsider_can_ask_shows_the_version(relay):
    said = session(
        f"smt-out{OUTSIDER}",
        [
            ["HELP", ""],
            ["HELP", "RCPT"],
            ["VRFY", "root"],
            ["EXPN", "root"],
            ["ETRN", "example.com"],
            ["FOO", ""],
            ["MAIL", "FROM:<a@example.org>"],
            ["RCPT", "TO:<ops@example.com>"],
        ],
    )
    replies = {step: (code, text) for step, code, text in said}
    for step, (_, text) in replies.items():
        assert not [form for form in VERSION_FORMS if form in text], (step, text)
        assert "sendmail" not in text.lower(), (step, text)
    # Its limits' safe defaults: 25 MiB messages.
    assert "SIZE 26214400" in replies["EHLO"][1].splitlines()
    # No AUTH without the site's auth settings (sendmail's default list offered DIGEST-MD5 and
    # CRAM-MD5, in plaintext sessions too).
    assert not any(line.startswith("AUTH") for line in replies["EHLO"][1].splitlines())
    assert replies["HELP"][0] == 214
    assert replies["HELP RCPT"][0] == 504
    assert replies["VRFY root"][0] == 252
    assert replies["EXPN root"][0] == 502
    assert replies["ETRN example.com"][0] == 502
    # Mail for the relay's own domain is accepted from anywhere.
    assert replies["RCPT TO:<ops@example.com>"][0] == 250


def test_the_received_header_it_adds_shows_no_version(relay):
    session(
        f"smt-out{OUTSIDER}",
        [
            ["MAIL", "FROM:<a@example.org>"],
            ["RCPT", "TO:<ops@example.com>"],
            ["DATA", "Subject: x\r\n\r\nhi\r\n"],
        ],
    )
    [queued] = relay.queued_ids("mta")
    qf = (relay.mqueue / f"qf{queued}").read_bytes().decode("utf-8", "replace")
    [received] = [line for line in qf.split("\nH") if "Received:" in line]
    assert "by tests.example.test with ESMTP id" in received
    assert not [form for form in VERSION_FORMS if form in received] and "Debian" not in received


@pytest.mark.parametrize("recipient", RELAY_TRICKS)
def test_an_outsider_cannot_relay_by_any_classic_trick(relay, recipient):
    said = session(f"smt-out{OUTSIDER}", [["MAIL", "FROM:<a@example.org>"], ["RCPT", f"TO:{recipient}"]])
    assert said[-2][1] == 250, said[-2]  # the sender is fine: only the recipient is refused
    step, code, text = said[-1]
    assert code >= 500, (step, code, text)
    assert relay.queued_ids("mta") == []


def test_the_sites_own_network_may_relay(relay):
    said = session(
        f"smt-in{INSIDER}", [["MAIL", "FROM:<a@example.com>"], ["RCPT", "TO:<victim@example.org>"]]
    )
    assert said[-1][1] == 250, said[-1]
