"""
The hand_made submodule (saltext.sendmail.shared.hand_made): what replacing a sendmail.mc this
package did not write would drop, against the vendors' own files and the package's own server .mc.
"""

import pathlib

import pytest

from saltext.sendmail.shared import build, hand_made, mc, platform, relay_features
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


# Every feature a site's relay may carry (relay_features.KEYS), each set.
RICHEST_FEATURES = {
    "mailertable": {"example.net": "esmtp:[203.0.113.25]"},
    "virtusertable": {"@example.net": "ops@example.com"},
    "genericstable": {"alice": "alice.smith@example.com"},
    "generics_domains": ["host31.example.com"],
    "domaintable": {"old.example.com": "example.com"},
    "access": {"Connect:203.0.113.66": "REJECT"},
    "milters": [{"name": "opendkim", "socket": "inet:8891@127.0.0.1"}],
    "dnsbl": [{"zone": "bl.example.test"}],
    "listen": ["0.0.0.0", "::"],
    "timeouts": {"helo": "5m"},
    "privacy_flags": ["noreceipts"],
    "local_host_names": ["example.net"],
    "trusted_users": ["majordomo"],
}


def test_the_richest_features_name_every_feature():
    assert set(RICHEST_FEATURES) == set(relay_features.KEYS)


def test_the_vendors_own_files_drop_nothing():
    assert hand_made.dropped(DEBIAN_MC, hand_made.SERVER_KEYS, "debian") == []
    assert hand_made.dropped(redhat.SENDMAIL_MC, hand_made.SERVER_KEYS, "linux") == []


def test_a_hand_made_relay_lists_what_the_role_without_relay_features_would_drop():
    # What sendmail.status lists: the site's pillar must give these (or replace_hand_made).
    assert hand_made.dropped(HAND_MADE, hand_made.SERVER_KEYS, "debian") == [
        "FEATURE(`mailertable', `hash -o /etc/mail/mailertable.db')dnl",
        "INPUT_MAIL_FILTER(`clamav', `S=local:/run/clamav-milter/clamav-milter.ctl, F=T')dnl",
        "define(`confDOMAIN_NAME', `mx.example.com')dnl",
        "LOCAL_RULESETS",
    ]


def test_a_build_lists_what_the_mc_it_writes_lacks_and_each_map_entry_it_would_lose(tmp_path):
    mailertable = tmp_path / "mailertable"
    mailertable.write_text("# routes\nexample.net\tesmtp:[203.0.113.25]\n.example.net\terror:nohost\n")
    old = f"{DEBIAN_MC}FEATURE(`mailertable', `hash -o {mailertable}.db')dnl\n" + (
        "INPUT_MAIL_FILTER(`clamav', `S=local:/run/clamav-milter/clamav-milter.ctl, F=T')dnl\n"
    )
    new_keys = {"FEATURE(mailertable)", "MAILER(local)", "MAILER(smtp)"}
    new_maps = {"mailertable": {"example.net": "esmtp:[203.0.113.25]"}}
    assert hand_made.dropped(old, new_keys, "debian", new_maps) == [
        f"FEATURE(`mailertable', `hash -o {mailertable}.db')dnl (entries the pillar does not give: "
        ".example.net)",
        "INPUT_MAIL_FILTER(`clamav', `S=local:/run/clamav-milter/clamav-milter.ctl, F=T')dnl",
    ]
    # The pillar that says the same drops nothing.
    new_keys.add("INPUT_MAIL_FILTER(clamav)")
    new_maps["mailertable"][".example.net"] = "error:nohost"
    assert hand_made.dropped(old, new_keys, "debian", new_maps) == []


def test_each_blocklist_is_its_own_construct():
    text = (
        "FEATURE(`enhdnsbl', `bl.example.test', `', `t')dnl\nFEATURE(`dnsbl', `dnsbl.example.org')dnl\n"
    )
    assert [key for key, _ in hand_made.constructs(text)] == [
        "FEATURE(enhdnsbl, bl.example.test)",
        "FEATURE(dnsbl, dnsbl.example.org)",
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
    # A build whose .mc keeps the map names the entries it would lose.
    kept = hand_made.SERVER_KEYS | {"FEATURE(mailertable)"}
    assert hand_made.dropped(vendor, kept, "linux", {"mailertable": {}}) == [
        f"{line} (entries the pillar does not give: partner.example)"
    ]


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
    args = ("[smart.example.com]", 587, ["example.com", "198.51.100", "IPv6:2001:db8:5"], limits, hop)
    text = mc.for_host(build.request("server", *args, lookup, "example.com"), lookup)
    keys = {key for key, _ in hand_made.constructs(text)} - {"include(cf.m4)", "LOCAL_RULESETS"}
    assert keys <= hand_made.SERVER_KEYS, keys - hand_made.SERVER_KEYS
    # And so, written by hand with the marker taken out, it would drop only its local rules.
    unmarked = text.replace(hand_made.MARKER, "")
    assert hand_made.dropped(unmarked, hand_made.SERVER_KEYS, lookup["mc_ostype"]) == ["LOCAL_RULESETS"]
    # With every relay feature too: against itself (what a build compares) it drops nothing else.
    request = build.request("server", *args, lookup, "example.com", False, RICHEST_FEATURES)
    rich = mc.for_host(request, lookup).replace(hand_made.MARKER, "")
    rich_keys = {key for key, _ in hand_made.constructs(rich)}
    assert (
        "INPUT_MAIL_FILTER(opendkim)" in rich_keys and "FEATURE(enhdnsbl, bl.example.test)" in rich_keys
    )
    assert hand_made.dropped(rich, rich_keys - {"LOCAL_RULESETS"}, lookup["mc_ostype"], {}) == [
        "LOCAL_RULESETS"
    ]


def test_a_domaintable_the_new_map_lacks_is_named_with_its_entries(tmp_path):
    domaintable = tmp_path / "domaintable"
    domaintable.write_text("old.example.com\texample.com\n")
    old = f"{DEBIAN_MC}FEATURE(`domaintable', `hash -o {domaintable}.db')dnl\n"
    kept = hand_made.SERVER_KEYS | {"FEATURE(domaintable)"}
    assert hand_made.dropped(old, kept, "debian", {"domaintable": {}}) == [
        f"FEATURE(`domaintable', `hash -o {domaintable}.db')dnl (entries the pillar does not give: "
        "old.example.com)"
    ]
