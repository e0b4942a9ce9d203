"""
STARTTLS and SMTP AUTH on the hop, for real: a relay built by sendmail.build_cf and
sendmail.credentials (server role with ``tls`` and ``auth``) and run by the real sendmail with Cyrus
SASL on 198.51.100.1; SMTP clients in other network namespaces (smtplib), and a client role whose
MSP runs its queue from its own namespace (198.51.100.33) through the relay.
"""

import base64
import grp
import os
import pathlib
import re
import subprocess
import types

import pytest
from salt.exceptions import SaltInvocationError

from tests.support import smtp_session
from tests.support.snapshot import snapshot
from tests.support.tls_relay import CLIENT, INSIDER, OUTSIDER, PASSWORD, RELAY, USER

WRONG_PASSWORD = "not-the-password"  # noqa: S105


def session(number, steps):
    return smtp_session.session(f"smt-tls{number}", RELAY, steps)


def ehlo_keywords(text):
    return [line.split()[0] for line in text.splitlines()[1:]]


def test_the_relay_offers_auth_only_inside_starttls(tls_relay):
    said = {
        step: (code, text)
        for step, code, text in session(OUTSIDER, [["STARTTLS", str(tls_relay.pki.ca)]])
    }
    assert "STARTTLS" in ehlo_keywords(said["EHLO"][1])
    assert "AUTH" not in ehlo_keywords(said["EHLO"][1])
    assert said["STARTTLS"][0] == 220  # and the certificate verified against the site's CA
    assert "AUTH PLAIN LOGIN" in said["EHLO-TLS"][1].splitlines()


def test_the_key_from_pillar_is_written_0600_root(tls_relay):
    key = tls_relay.world.etc / "tls" / "salt-relay.key"
    st = key.stat()
    assert (st.st_mode & 0o777, st.st_uid) == (0o600, 0)
    assert key.read_text() == tls_relay.pki.key.read_text()
    # The cf names the files, never their contents.
    cf = tls_relay.world.sendmail_cf.read_text()
    assert f"O ServerKeyFile={key}" in cf.splitlines()
    assert "PRIVATE KEY" not in cf


def test_an_outsider_relays_only_after_auth(tls_relay):
    tls = ["STARTTLS", str(tls_relay.pki.ca)]
    refused = session(OUTSIDER, [tls, ["MAIL", "FROM:<a@example.org>"], ["RCPT", "TO:<x@example.org>"]])
    assert refused[-1][1] >= 500, refused[-1]
    wrong = session(OUTSIDER, [tls, ["AUTH", [USER, "wrong"]]])
    assert wrong[-1][1] == 535, wrong[-1]
    relayed = session(
        OUTSIDER,
        [
            tls,
            ["AUTH", [USER, PASSWORD]],
            ["MAIL", "FROM:<a@example.org>"],
            ["RCPT", "TO:<x@example.org>"],
        ],
    )
    assert [code for _, code, _ in relayed[-3:]] == [235, 250, 250], relayed


def test_the_site_network_must_starttls_before_mail(tls_relay):
    plain = session(INSIDER, [["MAIL", "FROM:<a@example.com>"]])
    assert plain[-1][1] == 451 and "STARTTLS" in plain[-1][2], plain[-1]  # temporary: mail waits
    encrypted = session(
        INSIDER,
        [
            ["STARTTLS", str(tls_relay.pki.ca)],
            ["MAIL", "FROM:<a@example.com>"],
            ["RCPT", "TO:<x@example.org>"],
        ],
    )
    assert [code for _, code, _ in encrypted[-2:]] == [250, 250], encrypted
    # Outsiders may still send to the relay's own domains without STARTTLS.
    outsider = session(OUTSIDER, [["MAIL", "FROM:<a@example.org>"], ["RCPT", "TO:<ops@example.com>"]])
    assert outsider[-1][1] == 250, outsider[-1]


@pytest.mark.parametrize(
    ("client_addr", "tls_version", "refused"),
    [
        ("IPv6:2001:db8:5:0:0:0:0:31", "", True),
        ("IPv6:2001:db8:5:0:0:0:0:31", "TLSv1.3", False),
        ("IPv6:2001:db8:50:0:0:0:0:31", "", False),  # 2001:db8:50 is not the site's 2001:db8:5
        ("198.51.100.31", "", True),
        ("198.51.100.131", "", False),
    ],
)
def test_the_starttls_requirement_holds_for_the_sites_ipv6_network_too(
    world, sendmail, pki, client_addr, tls_version, refused
):
    # The rule the relay runs at MAIL, by the real sendmail (-bt: the address test mode).
    hop = {"tls": {"cert": str(pki.cert), "key": str(pki.key), "require": True}}
    domains = ["example.com", "198.51.100.31", "IPv6:2001:db8:5"]
    sendmail.build_cf("server", relay_domains=domains, **hop)
    script = f".D{{client_addr}}{client_addr}\n.D{{tls_version}}{tls_version}\nLocal_check_mail <a@example.com>\n"
    proc = subprocess.run(
        ["/usr/sbin/sendmail", "-C", str(world.sendmail_cf), "-bt"],
        input=script,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ("STARTTLS is required from this network" in proc.stdout) is refused, proc.stdout


@pytest.fixture
def safe_dir():
    """
    A directory whose whole path is root's and 0755, as /etc/mail is: sendmail opens no map in a
    directory path that others can write to (the worlds live under /tmp, 1777), so an authinfo map
    there would be skipped. A tmpfs on /mnt in the test run's own mount namespace.
    """
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "smt-safe", "/mnt"], check=True)
    try:
        yield pathlib.Path("/mnt")
    finally:
        subprocess.run(["umount", "/mnt"], check=False)


@pytest.fixture
def client(tls_relay, make_world, set_lookup, safe_dir):
    """A client role's MSP (submit.cf) pointed at the relay with STARTTLS and AUTH."""
    world = make_world()
    module = set_lookup({**world.lookup, "authinfo_map": f"{safe_dir}/salt-authinfo"})
    world.authinfo = safe_dir / "salt-authinfo.db"
    ca_pem = tls_relay.pki.ca.read_text()

    def configure(password=PASSWORD, ca=ca_pem, auth=True):
        hop = {
            "tls": {"ca": ca, "require": True},
            "auth": {"user": USER, "password": password} if auth else None,
        }
        built = module.build_cf("msp", relay=f"[{RELAY}]", **hop)
        written = module.credentials("client", **hop)
        return built, written

    def run_queue():
        """The MSP's queue run, from the client's own namespace (as its queue runner does)."""
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                f"smt-tls{CLIENT}",
                "/usr/sbin/sendmail",
                "-Ac",
                "-C",
                str(world.submit_cf),
                "-qf",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )

    return types.SimpleNamespace(world=world, module=module, configure=configure, run_queue=run_queue)


def test_mail_flows_through_starttls_and_auth_and_the_password_stays_in_the_map(tls_relay, client):
    built, written = client.configure()
    authinfo = client.world.authinfo
    ca = client.world.etc / "tls" / "salt-ca.crt"
    assert written["files"] == {
        str(authinfo): {"old": None, "new": f"authinfo for user {USER}, password ********"},
        str(ca): {"old": None, "new": "CA certificate from pillar, 19 lines"},
    }
    client.world.submit("x@example.org", queue="msp")
    client.run_queue()
    assert client.world.queued_ids("msp") == []
    assert len(tls_relay.world.queued_ids("mta")) == 1
    # The map: root, group smmsp (the MSP runs as smmsp), 0640.
    st = authinfo.stat()
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 0, grp.getgrnam("smmsp").gr_gid)
    # The password, in clear or in the map's base64, is in no other file of the host.
    encoded = base64.b64encode(PASSWORD.encode())
    files = [*client.world.root.rglob("*"), *authinfo.parent.rglob("*")]
    holders = [
        path
        for path in files
        if path.is_file() and (PASSWORD.encode() in path.read_bytes() or encoded in path.read_bytes())
    ]
    assert holders == [authinfo]
    assert PASSWORD not in repr((built, written))
    # A second run changes nothing.
    again = client.configure()
    assert (again[0]["changed"], again[1]["changed"]) == (False, False)


def test_a_wrong_password_keeps_mail_queued_and_status_says_why(tls_relay, client):
    client.configure(password=WRONG_PASSWORD)
    client.world.submit("x@example.org", queue="msp")
    client.run_queue()
    assert len(client.world.queued_ids("msp")) == 1
    assert tls_relay.world.queued_ids("mta") == []
    status = client.module.status()
    [finding] = [f for f in status["findings"] if f["id"] == "queue-deferred"]
    assert "MSP" in finding["message"] and "auth" in finding["message"].lower(), finding
    # The right password replaces the map; the queued message then goes.
    _, written = client.configure()
    [change] = written["files"].values()
    assert change["new"].endswith("(password changed)") and WRONG_PASSWORD not in repr(written)
    client.run_queue()
    assert client.world.queued_ids("msp") == [] and len(tls_relay.world.queued_ids("mta")) == 1


def test_a_root_only_map_is_unreadable_for_the_msp(tls_relay, client):
    # Why the map is group smmsp 0640 and not root 0600: the MSP runs as smmsp.
    client.configure()
    authinfo = client.world.authinfo
    os.chown(authinfo, 0, 0)
    authinfo.chmod(0o600)
    client.world.submit("x@example.org", queue="msp")
    client.run_queue()
    assert len(client.world.queued_ids("msp")) == 1
    assert tls_relay.world.queued_ids("mta") == []


def test_a_relay_certificate_from_another_ca_is_refused(tls_relay, client):
    client.configure(ca=tls_relay.pki.rogue.read_text())
    client.world.submit("x@example.org", queue="msp")
    client.run_queue()
    assert len(client.world.queued_ids("msp")) == 1
    [message] = client.module.queue("msp", messages=True)["messages"]
    assert "does not verify" in message["reason"], message


def test_removing_auth_removes_the_map(tls_relay, client):
    client.configure()
    _, written = client.configure(auth=False)
    authinfo = client.world.authinfo
    assert written["files"][str(authinfo)]["new"] is None
    assert not authinfo.exists()
    assert "salt-authinfo" not in client.world.submit_cf.read_text()


@pytest.mark.parametrize(
    ("kind", "hop", "said"),
    [
        (
            "server",
            {"tls": {"cert": "/nonexistent/relay.crt", "key": "KEY"}},
            "tls:cert: /nonexistent/relay.crt cannot be read",
        ),
        ("server", {"tls": {"cert": "CERT", "key": "WORLD_KEY"}}, "is readable by others (mode 0644)"),
        ("server", {"auth": {"mechanisms": ["PLAIN"]}}, "offers AUTH only after STARTTLS"),
        (
            "server",
            {"tls": {"cert": "CERT", "key": "KEY"}, "auth": {"mechanisms": ["CRAM-MD5"]}},
            "auth:mechanisms must be 'PLAIN' or 'LOGIN', not 'CRAM-MD5'",
        ),
        ("msp", {"auth": {"user": USER, "password": "two\nlines"}}, "auth:password: contains a newline"),
        (
            "msp",
            {"auth": {"user": USER, "password": "x", "mechanisms": ["KERBEROS_V5"]}},
            "not 'KERBEROS_V5'",
        ),
        ("msp", {"tls": {"require": "yes"}}, "tls:require: expected true or false"),
        (
            "msp",
            {"tls": {"ca": "-----BEGIN CERTIFICATE-----\nMIIB"}},
            "PEM text without its -----END line",
        ),
        ("msp", {"tls": {"verify": True}}, "unknown key verify"),
    ],
)
def test_bad_values_are_refused_and_nothing_changes(world, sendmail, pki, tmp_path, kind, hop, said):
    world_key = tmp_path / "world.key"
    world_key.write_text(pki.key.read_text())
    world_key.chmod(0o644)
    names = {"CERT": str(pki.cert), "KEY": str(pki.key), "WORLD_KEY": str(world_key)}
    for settings in hop.values():
        for name, value in settings.items():
            settings[name] = names.get(value, value) if isinstance(value, str) else value
    relay = None if kind == "server" else f"[{RELAY}]"
    before = snapshot(world.root)
    for call in (
        lambda: sendmail.build_cf(kind, relay=relay, **hop),
        lambda: sendmail.credentials("server" if kind == "server" else "client", **hop),
    ):
        with pytest.raises(SaltInvocationError, match=re.escape(said)) as err:
            call()
        assert "two\nlines" not in str(err.value)
    assert snapshot(world.root) == before
