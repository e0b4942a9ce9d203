"""
The hand_made submodule (saltext.sendmail.shared.hand_made): what replacing a sendmail.mc this
package did not write would drop, against the vendors' own files and the package's own server .mc.
"""

import pathlib

import pytest

from saltext.sendmail.shared import build, hand_made, mc, platform
from tests.support import redhat

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
DEBIAN_MC = (DATA / "debian-sendmail.mc").read_text()
# A relay someone set up by hand, from Debian's file: a mailertable, a milter, local rules.
HAND_MADE = DEBIAN_MC + (
    "FEATURE(`mailertable', `hash -o /etc/mail/mailertable.db')dnl\n"
    "INPUT_MAIL_FILTER(`clamav', `S=local:/run/clamav-milter/clamav-milter.ctl, F=T')dnl\n"
    "dnl FEATURE(`ldap_routing')dnl  (a comment: not a construct)\n"
    "define(`confDOMAIN_NAME', `mx.example.com')dnl\n"
    "LOCAL_RULESETS\n"
    "SLocal_check_rcpt\n"
    'R$*\t$#error $@ 5.7.1 $: "550 no"\n'
)


def test_the_vendors_own_files_drop_nothing():
    assert hand_made.dropped(DEBIAN_MC, hand_made.SERVER_KEYS, "debian") == []
    assert hand_made.dropped(redhat.SENDMAIL_MC, hand_made.SERVER_KEYS, "linux") == []


def test_a_hand_made_relay_lists_what_a_server_mc_would_drop():
    assert hand_made.dropped(HAND_MADE, hand_made.SERVER_KEYS, "debian") == [
        "FEATURE(`mailertable', `hash -o /etc/mail/mailertable.db')dnl",
        "INPUT_MAIL_FILTER(`clamav', `S=local:/run/clamav-milter/clamav-milter.ctl, F=T')dnl",
        "define(`confDOMAIN_NAME', `mx.example.com')dnl",
        "LOCAL_RULESETS",
    ]


def test_a_file_this_package_wrote_drops_nothing_whatever_it_holds():
    ours = f"divert(-1)dnl\n# {hand_made.MARKER}: server configuration.\nLOCAL_RULESETS\n"
    assert hand_made.dropped(ours, hand_made.SERVER_KEYS, "debian") == []
    assert hand_made.dropped(None, hand_made.SERVER_KEYS, "debian") == []


def test_a_vendor_map_counts_only_when_it_holds_entries(tmp_path):
    mailertable = tmp_path / "mailertable"
    line = f"FEATURE(`mailertable', `hash -o {mailertable}.db')dnl"
    vendor = redhat.SENDMAIL_MC + line + "\n"
    # Red Hat's default reads a mailertable: dropping an empty (or missing) one loses nothing.
    assert hand_made.dropped(vendor, hand_made.SERVER_KEYS, "linux") == []
    mailertable.write_text("# comment\n\n")
    assert hand_made.dropped(vendor, hand_made.SERVER_KEYS, "linux") == []
    mailertable.write_text("partner.example\tesmtp:[mx.partner.example]\n")
    assert hand_made.dropped(vendor, hand_made.SERVER_KEYS, "linux") == [line]


def test_an_unknown_vendor_has_no_defaults():
    # Solaris, FreeBSD: every construct not the package's own is listed.
    assert "FEATURE(`use_cw_file')dnl" in hand_made.dropped(DEBIAN_MC, hand_made.SERVER_KEYS, "solaris8")


def test_bytes_that_are_not_utf8_are_shown_not_kept_in_the_list(tmp_path):
    path = tmp_path / "sendmail.mc"
    path.write_bytes(b"define(`confDOMAIN_NAME', `m\xfcller.example')dnl\n")
    assert hand_made.for_host(str(path), "debian") == [
        "define(`confDOMAIN_NAME', `m\ufffdller.example')dnl"
    ]
    assert hand_made.for_host(str(tmp_path / "missing.mc"), "debian") == []


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
def test_every_construct_of_the_packages_server_mc_is_known_as_its_own(tmp_path, family):
    # The richest server .mc: every pillar key set (smart host, port, limits, TLS, AUTH,
    # masquerade): none of it may count as hand-made, or a managed relay would be refused.
    for name in ("cert", "key", "ca"):
        (tmp_path / f"{name}.pem").write_text(
            "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"
            if name != "key"
            else "-----BEGIN PRIVATE KEY-----\nMA==\n-----END PRIVATE KEY-----\n"
        )
    (tmp_path / "key.pem").chmod(0o600)
    lookup = platform.lookup(family, {"tls_dir": str(tmp_path)})
    limits = {
        "max_message_size": 1000,
        "connection_rate_throttle": 10,
        "max_daemon_children": 10,
        "min_free_blocks": 100,
        "client_connections": 5,
        "client_rate": 5,
        "greet_pause": 1000,
        "idle_timeout": 300,
        "queue_warn": "4h",
        "queue_return": "5d",
    }
    tls = {name: str(tmp_path / f"{name}.pem") for name in ("cert", "key", "ca")}
    hop = {"tls": {**tls, "require": True}, "auth": {"mechanisms": ["PLAIN", "LOGIN"]}}
    request = build.request(
        "server",
        "[smart.example.com]",
        587,
        ["example.com", "198.51.100"],
        limits,
        hop,
        lookup,
        "example.com",
    )
    text = mc.for_host(request, lookup)
    keys = {key for key, _ in hand_made.constructs(text)} - {"include(cf.m4)", "LOCAL_RULESETS"}
    assert keys <= hand_made.SERVER_KEYS, keys - hand_made.SERVER_KEYS
    # And so, written by hand with the marker taken out, it would drop only its local rules.
    unmarked = text.replace(hand_made.MARKER, "")
    assert hand_made.dropped(unmarked, hand_made.SERVER_KEYS, lookup["mc_ostype"]) == ["LOCAL_RULESETS"]
