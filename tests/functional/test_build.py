"""sendmail.render_mc and sendmail.build_cf with the real m4, Debian's cf.m4 and the real sendmail."""

import os
import smtplib

import pytest

from tests.support.release import VERSION_FORMS
from tests.support.snapshot import snapshot


def mta_host(world):
    [line] = [line for line in world.submit_cf.read_text().splitlines() if line.startswith("D{MTAHost}")]
    return line[len("D{MTAHost}") :]


def test_build_msp_installs_and_second_run_changes_nothing(world, sendmail, monkeypatch):
    old_cf = world.submit_cf.read_text()
    result = sendmail.build_cf("msp", "[relay.example.test]", port=587)
    assert result["changed"] is True
    assert set(result["files"]) == {str(world.submit_cf), str(world.etc / "submit.mc")}
    cf_change = result["files"][str(world.submit_cf)]
    assert (cf_change["old"], cf_change["new"]) == ("relay [127.0.0.1]", "relay [relay.example.test]")
    # The diff shows exactly the changed lines: the relay and its port.
    assert "-D{MTAHost}[127.0.0.1]\n+D{MTAHost}[relay.example.test]\n" in cf_change["diff"]
    assert "A=TCP $h 587" in cf_change["diff"]
    assert mta_host(world) == "[relay.example.test]"
    assert "A=TCP $h 587" in world.submit_cf.read_text()
    assert (world.etc / "submit.cf.bak").read_text() == old_cf
    assert "FEATURE(`msp', `[relay.example.test]')" in (world.etc / "submit.mc").read_text()
    assert not [name for name in os.listdir(world.etc) if name.endswith(".tmp")]
    # The second run must not need m4 at all: take it away and run again.
    before = snapshot(world.etc)
    monkeypatch.setenv("PATH", "/nonexistent")
    again = sendmail.build_cf("msp", "[relay.example.test]", port=587)
    assert again["changed"] is False
    assert again["files"] == {}
    assert snapshot(world.etc) == before


def test_built_client_relays_and_status_agrees(make_world, set_lookup):
    relay = make_world()
    relay.start_relay("127.0.0.2")
    client = make_world()
    sendmail = set_lookup(client.lookup)
    sendmail.build_cf("msp", ["[127.0.0.2]", "[127.0.0.3]"])
    assert mta_host(client) == "[127.0.0.2]:[127.0.0.3]"
    client.submit("a@example.com", queue="msp")
    assert sendmail.flush("msp")["msp"]["remaining"] == []
    assert len(relay.queued_ids("mta")) == 1
    # The relay shares this test network; without it, the client listens on nothing.
    relay.stop_daemons()
    report = sendmail.status()
    assert report["relay"]["msp"] == "[127.0.0.2]:[127.0.0.3]"
    assert report["role"] == "client"
    assert "msp-to-dead-mta" not in {finding["id"] for finding in report["findings"]}


def test_nullclient_for_old_sendmail(world, sendmail):
    result = sendmail.build_cf("nullclient", "esmtp:[relay.example.test]")
    assert result["changed"] is True
    lines = world.sendmail_cf.read_text().splitlines()
    assert "DSesmtp:[relay.example.test]" in lines


def test_test_mode_predicts_and_writes_nothing(world, sendmail):
    before = snapshot(world.root)
    result = sendmail.build_cf("msp", "[relay.example.test]", test=True)
    assert result["changed"] is True
    assert result["files"][str(world.submit_cf)]["new"] == "relay [relay.example.test]"
    assert snapshot(world.root) == before


BAD_RELAYS = [
    ("mail.example.com:587", "port"),
    ("[mail.example.com]`)esyscmd(`touch /tmp/pwned')", "relay"),
    ("esyscmd(touch /tmp/pwned)", "relay"),
    ("[relay.example.test]\nO DaemonPortOptions=Name=MTA", "relay"),
    ("dnl", "m4 word"),
    ("include.example.com", "m4 word"),
    ("mail.example.com'", "relay"),
    ("mail example.com", "relay"),
    ("mail,example.com", "relay"),
    ("[300.1.1.1]", "IPv4"),
    ("[IPv6:2001:db8::zz]", "IPv6"),
    ("lmtp:[mail.example.com]", "mailer"),
    (["mail.example.com"], "quote it"),
    (["[mx1.example.com]"], None),
    ([["mail.example.com"]], "list"),
    (True, "bool"),
    (None, "NoneType"),
    ("", "relay"),
]


@pytest.mark.parametrize(("relay", "said"), BAD_RELAYS)
def test_bad_relays_are_refused_before_anything_is_touched(world, sendmail, relay, said):
    before = snapshot(world.root)
    if said is None:
        # A one-element list of a bracketed relay is a valid ordered list: accepted.
        assert sendmail.build_cf("msp", relay, test=True)["changed"] is True
        return
    with pytest.raises(Exception, match="relay") as err:
        sendmail.build_cf("msp", relay)
    assert said.lower() in str(err.value).lower()
    assert snapshot(world.root) == before
    assert not os.path.exists("/tmp/pwned")


@pytest.mark.parametrize("port", [0, 65536, "587x", True, "25; rm", -1])
def test_bad_ports_are_refused(world, sendmail, port):
    before = snapshot(world.root)
    with pytest.raises(Exception, match="port"):
        sendmail.build_cf("msp", "[relay.example.test]", port=port)
    assert snapshot(world.root) == before


def test_m4_missing_keeps_the_previous_configuration(world, sendmail, monkeypatch):
    before = snapshot(world.root)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(Exception, match="m4"):
        sendmail.build_cf("msp", "[relay.example.test]")
    assert snapshot(world.root) == before


def test_cf_m4_error_keeps_the_previous_configuration(world, set_lookup):
    sendmail = set_lookup({**world.lookup, "cf_m4": str(world.root / "missing-cf.m4")})
    before = snapshot(world.root)
    with pytest.raises(Exception, match="m4 failed"):
        sendmail.build_cf("msp", "[relay.example.test]")
    assert snapshot(world.root) == before


def test_validator_refusal_keeps_the_previous_configuration(world, set_lookup):
    # /bin/false stands in for a sendmail that refuses the new cf.
    sendmail = set_lookup({**world.lookup, "sendmail_bin": "/bin/false"})
    before = snapshot(world.root)
    with pytest.raises(Exception, match="sendmail, loading the new cf, failed"):
        sendmail.build_cf("msp", "[relay.example.test]")
    assert snapshot(world.root) == before


def test_server_cf_is_hardened_and_really_listens(world, sendmail):
    result = sendmail.build_cf("server", relay_domains=["example.com", "127.0.0"])
    assert result["changed"] is True
    assert result["files"][str(world.sendmail_cf)]["new"] == "listening, smart host none"
    assert "RELAY_DOMAIN(`example.com')dnl" in (world.etc / "sendmail.mc").read_text()
    world.start_daemon(
        "-bD", "-ODaemonPortOptions=Name=MTA,Addr=127.0.0.3,Port=25", wait_port=25, wait_host="127.0.0.3"
    )
    smtp = smtplib.SMTP(local_hostname="client.example.test", timeout=10)
    try:
        code, banner = smtp.connect("127.0.0.3", 25)
        assert code == 220
        assert not [form for form in VERSION_FORMS if form.encode() in banner], banner
        assert b"Sendmail" not in banner
        smtp.ehlo()
        # PrivacyOptions goaway: no VRFY answer, no EXPN.
        assert smtp.verify("root")[0] == 252
        assert smtp.expn("root")[0] == 502
        # It relays for a listed domain, from a listed network (127.0.0).
        smtp.mail("a@example.org")
        assert smtp.rcpt("b@example.com")[0] == 250
    finally:
        smtp.close()
    report = sendmail.status()
    assert report["role"] == "server"
    assert report["exposed"] is True
    again = sendmail.build_cf("server", relay_domains=["example.com", "127.0.0"])
    assert again["changed"] is False


def test_server_with_a_smart_host_list(world, sendmail):
    sendmail.build_cf("server", relay=["mailhub", "[mx2.example.com]"], port=2525)
    lines = world.sendmail_cf.read_text().splitlines()
    assert "DSrelay:mailhub:[mx2.example.com]" in lines
    assert any(line.startswith("Mrelay") for line in lines)
    assert "A=TCP $h 2525" in world.sendmail_cf.read_text()


def test_validator_timeout_keeps_the_previous_configuration(world, set_lookup):
    # A sendmail that never answers (the 60-second hostname stall, a hung resolver).
    hung = world.root / "hung-sendmail"
    hung.write_text("#!/bin/sh\nexec sleep 60\n")
    hung.chmod(0o755)
    sendmail = set_lookup({**world.lookup, "sendmail_bin": str(hung), "validate_timeout": 1})
    before = snapshot(world.root)
    with pytest.raises(Exception, match="Timed out after 1 seconds"):
        sendmail.build_cf("msp", "[relay.example.test]")
    assert snapshot(world.root) == before


def test_server_limits_are_enforced_by_sendmail(world, sendmail):
    limits = {"max_message_size": 2000, "connection_rate_throttle": 5}
    sendmail.build_cf("server", relay_domains=["example.com", "127.0.0"], limits=limits)
    options = [line for line in world.sendmail_cf.read_text().splitlines() if line.startswith("O ")]
    assert {"O MaxMessageSize=2000", "O ConnectionRateThrottle=5", "O MaxDaemonChildren=40"} <= set(
        options
    )
    world.serve_and_queue("127.0.0.3")
    smtp = smtplib.SMTP("127.0.0.3", 25, local_hostname="client.example.test", timeout=10)
    try:
        assert smtp.ehlo()[0] == 250
        assert smtp.esmtp_features["size"] == "2000"
        with pytest.raises(smtplib.SMTPException) as refused:
            smtp.sendmail("a@example.org", ["b@example.com"], "Subject: big\n\n" + "x" * 3000)
        assert "552" in str(refused.value)
        assert smtp.sendmail("a@example.org", ["b@example.com"], "Subject: small\n\nhi\n") == {}
    finally:
        smtp.close()
    assert len(world.queued_ids("mta")) == 1
    with pytest.raises(Exception, match="limits: unknown limit connection_rate_throttle"):
        sendmail.build_cf("msp", "[relay.example.test]", limits=limits)
