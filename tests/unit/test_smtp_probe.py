"""The relay seen from outside (saltext.sendmail.shared.smtp_probe), against a real socket on loopback."""

import socket
import socketserver
import threading
import time

import pytest

from saltext.sendmail.shared import smtp_probe


class _Session(socketserver.StreamRequestHandler):
    """Just enough SMTP: a greeting, then 250 to all but RCPT for a domain the relay refuses."""

    def handle(self):
        self.wfile.write(b"220 relay.example.test ESMTP\r\n")
        for line in self.rfile:
            verb = line.split()[0].upper() if line.split() else b""
            if verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            if verb == b"RCPT" and b"refused.example" in line:
                self.wfile.write(b"550 5.7.1 Relaying denied\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def relay():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Session)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_relay_that_greets_answers_and_a_closed_port_says_why(relay):
    port = relay.server_address[1]
    assert smtp_probe.greets("127.0.0.1", port) == (True, f"answers SMTP on 127.0.0.1:{port}")
    closed = _closed_port()
    answered, said = smtp_probe.greets("127.0.0.1", closed, timeout=2)
    assert not answered
    assert said.startswith(f"127.0.0.1:{closed} does not answer SMTP (")


def test_a_message_for_the_sites_domain_is_accepted_or_refused_in_the_relays_words(relay):
    port = relay.server_address[1]
    assert smtp_probe.accepts("127.0.0.1", "example.com", port) == (
        True,
        "accepts a message for postmaster@example.com (250 ok)",
    )
    assert smtp_probe.accepts("127.0.0.1", "refused.example", port) == (
        False,
        "refuses a message for postmaster@refused.example (550 5.7.1 Relaying denied)",
    )


def test_a_watch_counts_the_time_a_relay_did_not_answer(relay, monkeypatch):
    monkeypatch.setattr(smtp_probe, "WATCH_EVERY", 0.05)
    with smtp_probe.Watch("127.0.0.1", relay.server_address[1]) as up:
        time.sleep(0.3)
    assert up.down == 0
    with smtp_probe.Watch("127.0.0.1", _closed_port()) as down:
        time.sleep(0.3)
    assert down.down > 0.1
