"""
A relay set up by hand, taken over: its sendmail.mc (Debian's, plus a mailertable, a virtusertable,
a genericstable, an access map with entries, a DNS blocklist and a milter) and its maps, written as
a site writes them. The server role refuses while the pillar lacks any of it, naming the map entry;
given a pillar that says the same, it drops nothing, needs no replace_hand_made, and the real
sendmail routes and refuses as the hand-made relay did.
"""

import subprocess

import pytest
from salt.exceptions import CommandExecutionError

from tests.support.snapshot import snapshot
from tests.support.world import CF_M4, build_cf

HAND_MADE = """\
divert(-1)dnl
# Our relay, by hand.
divert(0)dnl
include(`{cf_m4}')dnl
OSTYPE(`debian')dnl
DOMAIN(`debian-mta')dnl
define(`QUEUE_DIR', `{mqueue}')dnl
define(`confPID_FILE', `{run}/mta.pid')dnl
FEATURE(`access_db', `hash -T<TMPF> -o {etc}/access.db')dnl
FEATURE(`mailertable', `hash -o {etc}/mailertable.db')dnl
FEATURE(`virtusertable', `hash -o {etc}/virtusertable.db')dnl
VIRTUSER_DOMAIN(`virtual.example.test')dnl
FEATURE(`genericstable', `hash -o {etc}/genericstable.db')dnl
GENERICS_DOMAIN(`host31.example.test')dnl
FEATURE(`masquerade_envelope')dnl
FEATURE(`enhdnsbl', `bl.example.test', `"550 5.7.1 listed at bl.example.test"', `t')dnl
INPUT_MAIL_FILTER(`verify', `S=inet:8891@127.0.0.1, F=T')dnl
RELAY_DOMAIN(`example.com')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
"""
MAPS = {
    "mailertable": "example.net\tesmtp:[127.0.0.2]\n.example.net\terror:5.1.2:550 no such host\n",
    "virtusertable": "@virtual.example.test\tops@example.com\n"
    "nobody@virtual.example.test\terror:nouser User unknown\n",
    "genericstable": "alice@host31.example.test\talice.smith@example.com\n",
    "access": "# the relay's own\nConnect:203.0.113.66\tREJECT\nFrom:spam@example.org\tDISCARD\n",
}
# What the site's pillar says for the same relay.
SAME = {
    "mailertable": {"example.net": "esmtp:[127.0.0.2]", ".example.net": "error:5.1.2:550 no such host"},
    "virtusertable": {
        "@virtual.example.test": "ops@example.com",
        "nobody@virtual.example.test": "error:nouser User unknown",
    },
    "genericstable": {"alice@host31.example.test": "alice.smith@example.com"},
    "generics_domains": ["host31.example.test"],
    "access": {"Connect:203.0.113.66": "REJECT", "From:spam@example.org": "DISCARD"},
    "dnsbl": [{"zone": "bl.example.test", "message": "550 5.7.1 listed at bl.example.test"}],
    "milters": [{"name": "verify", "socket": "inet:8891@127.0.0.1"}],
}


@pytest.fixture
def hand_made(world, sendmail):
    etc = world.etc
    mc = HAND_MADE.format(cf_m4=CF_M4, mqueue=world.mqueue, run=world.run_dir, etc=etc)
    (etc / "sendmail.mc").write_text(mc)
    build_cf(mc, world.sendmail_cf)
    for name, text in MAPS.items():
        (etc / name).write_text(text)
        subprocess.run(["makemap", "hash", str(etc / name)], input=text, text=True, check=True)
    return world


def routes(world, address):
    """What the real sendmail makes of ``address`` with the installed cf (-bv: nothing is sent)."""
    proc = subprocess.run(
        ["/usr/sbin/sendmail", "-C", str(world.sendmail_cf), "-bv", address],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return proc.stdout.strip()


def test_the_hand_made_relay_routes_as_its_site_wrote_it(hand_made):
    assert "mailer esmtp, host [127.0.0.2]" in routes(hand_made, "bob@example.net")
    assert "User unknown" in routes(hand_made, "nobody@virtual.example.test")


def test_a_pillar_that_lacks_one_entry_is_refused_naming_it_and_nothing_changes(hand_made, sendmail):
    before = snapshot(hand_made.etc)
    short = {**SAME, "mailertable": {"example.net": "esmtp:[127.0.0.2]"}}
    with pytest.raises(CommandExecutionError) as err:
        sendmail.build_cf("server", relay_domains=["example.com"], features=short)
    assert "(entries the pillar does not give: .example.net)" in str(err.value)
    assert "INPUT_MAIL_FILTER" not in str(err.value)  # the milter the pillar names is kept
    assert snapshot(hand_made.etc) == before


def test_a_pillar_that_says_the_same_takes_the_relay_over_dropping_nothing(hand_made, sendmail):
    predicted = sendmail.build_cf("server", relay_domains=["example.com"], features=SAME, test=True)
    assert predicted["dropped"] == [] and predicted["changed"] is True
    built = sendmail.build_cf("server", relay_domains=["example.com"], features=SAME)
    assert built["dropped"] == []
    sendmail.aliases(virtusers=SAME["virtusertable"])
    # The same routes and refusals, now from the package's own maps.
    assert "mailer esmtp, host [127.0.0.2]" in routes(hand_made, "bob@example.net")
    assert "no such host" in routes(hand_made, "bob@sub.example.net")
    assert "User unknown" in routes(hand_made, "nobody@virtual.example.test")
    cf_text = hand_made.sendmail_cf.read_text()
    assert "O InputMailFilters=verify" in cf_text and "bl.example.test" in cf_text
    assert sendmail.status()["hand_made_mc"]["dropped"] == []
    # A second run changes nothing.
    assert sendmail.build_cf("server", relay_domains=["example.com"], features=SAME)["changed"] is False


def test_a_restore_puts_the_sites_maps_back_as_they_were(world, sendmail):
    # A relay without a mailertable gets one, then the run's saved files go back (what a failed
    # role run does): the map's source and its .db are gone again, the genericstable's old entries back.
    features = {"genericstable": {"alice": "alice@example.com"}, "generics_domains": ["example.test"]}
    sendmail.build_cf("server", relay_domains=["example.com"], features=features)
    saved = sendmail.config_files()
    changed = {
        "mailertable": {"example.net": "esmtp:[127.0.0.2]"},
        "genericstable": {"alice": "alice.smith@example.com"},
        "generics_domains": ["example.test"],
    }
    sendmail.build_cf("server", relay_domains=["example.com"], features=changed)
    assert (world.etc / "salt-mailertable.db").exists()
    restored = sendmail.restore(saved)
    assert str(world.etc / "salt-mailertable") in restored["restored"]
    assert not (world.etc / "salt-mailertable").exists()
    assert not (world.etc / "salt-mailertable.db").exists()
    assert (world.etc / "salt-genericstable").read_text() == "alice\talice@example.com\n"
    # The map sendmail reads holds the old entry again (makemap -u dumps it).
    dumped = subprocess.run(
        ["makemap", "-u", "hash", str(world.etc / "salt-genericstable")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert dumped.split() == ["alice", "alice@example.com"]
    assert "mailertable" not in world.sendmail_cf.read_text()


def test_a_map_makemap_refuses_after_another_was_built_leaves_every_live_file(
    world, set_lookup, tmp_path
):
    # makemap refuses the genericstable only: the mailertable built before it, the access map and
    # the cf must all stay as they were (nothing renamed before everything is built and loaded).
    fussy = tmp_path / "makemap"
    fussy.write_text('#!/bin/sh\ncase "$2" in *salt-genericstable*) exit 1;; esac\nexec makemap "$@"\n')
    fussy.chmod(0o755)
    module = set_lookup(world.lookup)
    module.build_cf(
        "server",
        relay_domains=["example.com"],
        features={"mailertable": {"a.example": "esmtp:[127.0.0.2]"}},
    )
    before = snapshot(world.etc)
    module = set_lookup({**world.lookup, "makemap_bin": str(fussy)})
    changed = {
        "mailertable": {"b.example": "esmtp:[127.0.0.2]"},
        "genericstable": {"alice": "alice@example.com"},
        "generics_domains": ["example.test"],
        "access": {"Connect:203.0.113.9": "REJECT"},
    }
    with pytest.raises(CommandExecutionError, match=r"makemap for .*salt-genericstable"):
        module.build_cf("server", relay_domains=["example.com"], features=changed)
    assert snapshot(world.etc) == before
