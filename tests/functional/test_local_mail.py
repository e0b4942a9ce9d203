"""
Local mail through Salt's loader and the real sendmail: where a bare ``root`` goes from a client
(``sendmail -bv`` on the cf the module built), the relay's aliases and virtusertable built by
sendmail and makemap, and the refusals that leave the live files as they were.
"""

import subprocess

import pytest
from salt.exceptions import CommandExecutionError

from tests.support.snapshot import snapshot
from tests.support.world import SENDMAIL

RELAY = "[198.51.100.11]"


def verify(cf, address):
    """``sendmail -bv``: where the real sendmail would send ``address`` with this cf."""
    proc = subprocess.run(
        [SENDMAIL, "-C", str(cf), "-bv", address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.stdout + proc.stderr


def test_a_bare_root_leaves_a_client_as_the_sites_domain(world, sendmail):
    sendmail.build_cf("msp", relay=RELAY)
    # Without the key: root@this-host, handed to the relay, which would hand it back here.
    assert "user root@tests.example.test" in verify(world.submit_cf, "root")
    status = sendmail.status()
    assert status["local_mail"] == {
        "address": "root@tests.example.test",
        "handed_to": RELAY,
        "masquerade": None,
        "alias": None,
        "returns_here": True,
    }
    [unrouted] = [f for f in status["findings"] if f["id"] == "local-mail-unrouted"]
    assert unrouted["severity"] == "high" and "masquerade_as" in unrouted["message"]
    result = sendmail.build_cf("msp", relay=RELAY, masquerade_as="example.com")
    assert result["changed"]
    said = verify(world.submit_cf, "root")
    assert f"mailer relay, host {RELAY}, user root@example.com" in said, said
    status = sendmail.status()
    assert status["local_mail"]["address"] == "root@example.com"
    assert "local-mail-unrouted" not in [f["id"] for f in status["findings"]]
    # The nullclient sendmail.cf hands a local name to its hub as the hub's own (nullclient.m4):
    # there the relay's aliases take it.
    sendmail.build_cf("nullclient", relay=RELAY, masquerade_as="example.com")
    assert f"user root@{RELAY}" in verify(world.sendmail_cf, "root")


def test_the_relay_sends_the_sites_names_to_their_alias_and_relays_the_other_users(world, sendmail):
    sendmail.build_cf("server", relay_domains=["example.com"], masquerade_as="example.com")
    aliases_file = world.etc / "aliases"
    aliases_file.write_text("# kept\npostmaster: root\nwww: root\n")
    names = {"root": "ops@example.org", "postmaster": ["ops@example.org", "pm@example.org"]}
    before = snapshot(world.root)
    predicted = sendmail.aliases(names, domain="example.com", test=True)
    assert predicted["changed"] and snapshot(world.root) == before
    applied = sendmail.aliases(names, domain="example.com")
    assert applied["files"] == predicted["files"]
    assert applied["files"][str(aliases_file)]["postmaster"] == {
        "old": "root",
        "new": "ops@example.org, pm@example.org",
    }
    # Other entries stay; the maps are sendmail's own.
    assert aliases_file.read_text() == (
        "# kept\npostmaster: ops@example.org, pm@example.org\nwww: root\nroot: ops@example.org\n"
    )
    assert (world.etc / "aliases.db").exists() and (world.etc / "salt-virtusers.db").exists()
    assert "mailer esmtp, host example.org., user ops@example.org" in verify(
        world.sendmail_cf, "root@example.com"
    )
    # Another user of the domain is relayed on, not made local, not bounced.
    assert "mailer esmtp, host example.com., user bob@example.com" in verify(
        world.sendmail_cf, "bob@example.com"
    )
    # The relay's own root goes to the alias too.
    assert "user ops@example.org" in verify(world.sendmail_cf, "root")
    again = snapshot(world.root)
    assert sendmail.aliases(names, domain="example.com") == {
        "changed": False,
        "files": {},
        "in_place": [],
    }
    assert snapshot(world.root) == again


def test_a_map_sendmail_refuses_leaves_the_live_files_as_they_were(world, set_lookup):
    set_lookup(world.lookup).build_cf(
        "server", relay_domains=["example.com"], masquerade_as="example.com"
    )
    module = set_lookup({**world.lookup, "makemap_bin": "/bin/false"})
    before = snapshot(world.root)
    with pytest.raises(CommandExecutionError, match=r"makemap for .*salt-virtusers failed"):
        module.aliases({"root": "ops@example.org"}, domain="example.com")
    assert snapshot(world.root) == before


@pytest.mark.parametrize(
    ("names", "domain", "said"),
    [
        ({"root": "root"}, None, "aliases:root: root goes to itself"),
        ({"root": "root@example.com"}, "example.com", "root goes to itself"),
        ({"root": "o'ps@example.org"}, None, "is not an address"),
        ({"root": "ops@example.org"}, "dnl.example.com", "contains an m4 word"),
    ],
)
def test_bad_values_are_refused_before_anything_changes(world, sendmail, names, domain, said):
    before = snapshot(world.root)
    with pytest.raises(Exception, match=said):
        sendmail.aliases(names, domain=domain)
    assert snapshot(world.root) == before


def test_a_failed_step_puts_the_aliases_and_their_maps_back(world, sendmail):
    sendmail.build_cf("server", relay_domains=["example.com"], masquerade_as="example.com")
    sendmail.aliases({"root": "ops@example.org"}, domain="example.com")
    saved = sendmail.config_files()  # what the role state reads before its first step
    sendmail.aliases({"root": "other@example.org"}, domain="example.com")
    assert "user other@example.org" in verify(world.sendmail_cf, "root@example.com")
    restored = sendmail.restore(saved)["restored"]
    assert sorted(restored) == sorted([str(world.etc / "aliases"), str(world.etc / "salt-virtusers")])
    # The texts and the maps sendmail reads: both back.
    assert "root: ops@example.org" in (world.etc / "aliases").read_text()
    assert "user ops@example.org" in verify(world.sendmail_cf, "root@example.com")
    assert "user ops@example.org" in verify(world.sendmail_cf, "root")
