"""
STARTTLS and AUTH on the hop with sendmail 8.18.1 (Debian 13), end to end: a relay host whose
server role requires STARTTLS and offers AUTH (Cyrus SASL with a sasldb user), and a client host
whose client role sends through it with STARTTLS and its login. Both boot systemd and apply the
roles with their own salt-call. The same path on Debian 12 is tests/functional/test_relay_tls_auth.py
and tests/integration/test_client_tls_auth_on_debian.py.
"""

import smtplib
import socket
import ssl
import time

import pytest

from tests.support.netns import NETWORK
from tests.support.tls_relay import make_ca, make_cert

RELAY_NUMBER, CLIENT_NUMBER = 56, 57
RELAY_ADDRESS = f"{NETWORK}.{RELAY_NUMBER}"
RELAY_NAME, CLIENT_NAME = "relay56.example.test", "client57.example.test"
# example.org: outside the site (not in relay_domains), so relaying to it needs AUTH; it resolves
# from /etc/hosts (the MSP canonifies it) to an address with no route, so mail for it waits.
EXTRA_HOSTS = (
    f"{RELAY_ADDRESS}\t{RELAY_NAME}\n{NETWORK}.{CLIENT_NUMBER}\t{CLIENT_NAME}\n192.0.2.11\texample.org\n"
)
USER, PASSWORD = "client57", 'Corr3ct horse "battery" staple'
SASL_CONF = "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: /etc/sasldb2\nmech_list: PLAIN LOGIN\n"


def add_sasl_user(host):
    """The relay's Cyrus SASL: a sasldb user in sendmail's realm (its own name), and the config."""
    host.write("/etc/sasl2/Sendmail.conf", SASL_CONF)
    host.run(
        "saslpasswd2", "-f", "/etc/sasldb2", "-u", RELAY_NAME, "-c", "-p", USER, input_text=PASSWORD
    )
    host.run("chmod", "600", "/etc/sasldb2")


def smtp_from_outside(ca):
    """What the relay says to a host outside the site (the test network's 198.51.100.1)."""
    with smtplib.SMTP(RELAY_ADDRESS, 25, timeout=20) as smtp:
        before_tls = smtp.ehlo()[1].decode()
        smtp.starttls(context=ssl.create_default_context(cafile=ca))
        after_tls = smtp.ehlo()[1].decode()
        smtp.mail("<a@example.org>")
        refused = smtp.rcpt("<x@example.org>")
    return before_tls, after_tls, refused


def smuggled_end():
    """
    What the relay answers to a message ended by a bare ``<LF>.<CR><LF>`` (SMTP smuggling,
    CVE-2023-51765): 8.18 refuses bare line feeds by default, and the server role keeps that.
    """
    with socket.create_connection((RELAY_ADDRESS, 25), timeout=20) as sock:
        replies = sock.makefile("rb")
        said = [replies.readline()]
        for line in (
            b"EHLO outside.example.test",
            b"MAIL FROM:<a@example.org>",
            b"RCPT TO:<ops@example.com>",
            b"DATA",
        ):
            sock.sendall(line + b"\r\n")
            said.append(replies.readline())
            while said[-1][3:4] == b"-":  # a multi-line reply
                said.append(replies.readline())
        sock.sendall(b"Subject: smuggled\r\n\r\nfirst\n.\r\nMAIL FROM:<spoof@example.com>\r\n")
        said.append(replies.readline())
    return said


@pytest.mark.parametrize("release", ["debian13"])
def test_mail_goes_through_starttls_and_auth_on_sendmail_8_18(make_systemd_host, tmp_path, release):
    pki = tmp_path / "pki"
    ca = make_ca(pki, "site-ca")
    cert, key = make_cert(pki, "site-ca", RELAY_NAME, RELAY_ADDRESS)
    relay = make_systemd_host(number=RELAY_NUMBER, hostname=RELAY_NAME, extra_hosts=EXTRA_HOSTS)
    client = make_systemd_host(number=CLIENT_NUMBER, hostname=CLIENT_NAME, extra_hosts=EXTRA_HOSTS)
    assert relay.sh("dpkg-query -W -f '${Version}' sendmail-bin").startswith("8.18.")

    relay.write("/etc/ssl/site/relay.crt", cert.read_text())
    relay.write("/etc/ssl/site/ca.crt", ca.read_text())
    add_sasl_user(relay)
    tls = {
        "cert": "/etc/ssl/site/relay.crt",
        "key": key.read_text(),
        "ca": "/etc/ssl/site/ca.crt",
        "require": True,
    }
    server = relay.state(
        "sendmail.server",
        relay_domains=["example.com"],
        tls=tls,
        auth={"mechanisms": ["PLAIN", "LOGIN"]},
    )
    assert server["result"] is True, server["comment"]
    assert key.read_text() not in repr(server)

    # Outside the site: AUTH only inside STARTTLS, and no relaying without it.
    before_tls, after_tls, refused = smtp_from_outside(str(ca))
    assert "STARTTLS" in before_tls and "AUTH" not in before_tls
    assert "AUTH PLAIN LOGIN" in after_tls.splitlines()
    assert refused[0] >= 500, refused
    said = smuggled_end()
    assert said[-2].startswith(b"354"), said
    assert said[-1][:1] in (b"4", b"5") and b"Bare linefeed" in said[-1], said

    # The client role: STARTTLS (the site's CA) and its login; cron's mail to root, say, goes out.
    hop = {"tls": {"ca": ca.read_text(), "require": True}, "auth": {"user": USER, "password": PASSWORD}}
    done = client.state("sendmail.client", relay=f"[{RELAY_ADDRESS}]", msp_interval="10s", **hop)
    assert done["result"] is True, done["comment"]
    assert PASSWORD not in repr(done)
    client.run("sendmail", "-oi", "x@example.org", input_text="Subject: over TLS and AUTH\n\nhello\n")
    deadline = time.monotonic() + 60
    queued = []
    while not queued and time.monotonic() < deadline:
        queued = [qf.read_bytes() for qf in relay.path("/var/spool/mqueue").glob("qf*")]
        time.sleep(1)
    waiting = client.salt_call("sendmail.queue", "msp", "messages=True")["messages"]
    assert len(queued) == 1, [(m["reason"], m["tries"]) for m in waiting]
    qf = queued[0].decode("latin-1")
    assert "Subject: over TLS and AUTH" in qf
    # The relay's Received: line says the hop was encrypted and authenticated (ESMTPSA); verify=NO
    # is the relay's view of the client's certificate (it shows none: it logs in instead).
    received = qf.split("H??Received: ")[1].splitlines()[0]
    assert "(authenticated bits=0)" in received and "with ESMTPSA" in received, received
    assert "version=TLSv1.3" in received, received
    assert client.salt_call("sendmail.queue", "msp")["count"] == 0
