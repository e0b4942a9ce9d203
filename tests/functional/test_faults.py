"""
Faults from outside the package, on a private sendmail host through Salt's real loader: a full
file system while a configuration is written, a file that is a mount point of its own (an
/etc/aliases bind-mounted into a container), a queue whose disk is nearly full.
"""

import os
import pwd

import pytest
from salt.exceptions import CommandExecutionError

from tests.support.flood import flood_from
from tests.support.mounts import fill
from tests.support.snapshot import snapshot

RELAY = "[198.51.100.11]"


def test_a_full_etc_mail_fails_naming_the_file_system_and_changes_nothing(world, sendmail, mounts):
    mounts.tmpfs(world.etc, "512k")
    fill(world.etc, leave=4096)
    before = snapshot(world.root)
    with pytest.raises(CommandExecutionError) as caught:
        sendmail.build_cf("msp", relay=RELAY)
    said = str(caught.value)
    assert "No space left on device" in said, said
    assert f"mounted at {world.etc}" in said and "bytes free" in said and "needed" in said, said
    # Every file byte-identical, no temp file left behind.
    assert snapshot(world.root) == before
    assert not [name for name in os.listdir(world.etc) if name.endswith(".tmp")]
    # Room again: the same call goes through, and the cf is the one asked for.
    os.unlink(world.etc / "filler")
    assert sendmail.build_cf("msp", relay=RELAY)["changed"]
    assert sendmail.status()["relay"]["msp"] == RELAY


def test_a_read_only_etc_mail_is_named_and_changes_nothing(world, sendmail, mounts):
    mounts.bind(world.etc, world.etc)
    os.system(f"mount -o remount,bind,ro {world.etc}")  # noqa: S605 - fixed test path
    before = snapshot(world.root)
    with pytest.raises(CommandExecutionError, match="Read-only file system on the file system mounted"):
        sendmail.build_cf("msp", relay=RELAY)
    assert snapshot(world.root) == before


def test_an_aliases_file_that_is_a_mount_point_is_written_in_place(world, sendmail, mounts, tmp_path):
    sendmail.build_cf("server", relay_domains=["example.com"], masquerade_as="example.com")
    aliases_file = world.etc / "aliases"
    aliases_file.write_text("postmaster: root\n")
    # The container's /etc/aliases is the host's file, bind-mounted: no rename can replace it.
    outside = tmp_path / "host-aliases"
    outside.write_text("# from the host\npostmaster: root\n")
    mounts.bind(outside, aliases_file)
    result = sendmail.aliases({"root": "ops@example.org"}, domain="example.com")
    assert result["changed"] and result["in_place"] == [str(aliases_file)]
    # The host's file itself holds the new entry; the old text is kept as .bak; maps built.
    assert outside.read_text() == "# from the host\npostmaster: root\nroot: ops@example.org\n"
    assert (world.etc / "aliases.bak").read_text() == "# from the host\npostmaster: root\n"
    assert (world.etc / "aliases.db").exists()
    assert not [name for name in os.listdir(world.etc) if name.endswith(".tmp")]
    # A second run changes nothing.
    assert not sendmail.aliases({"root": "ops@example.org"}, domain="example.com")["changed"]


def test_an_outsiders_flood_leaves_the_relay_serving_its_site(make_world, set_lookup):
    from tests.support.netns import bridge, linked_netns
    from tests.support.smtp_session import session
    from tests.support.tls_relay import CLIENT, OUTSIDER, RELAY

    bridge()
    world = make_world()
    module = set_lookup(world.lookup)
    site_client = f"198.51.100.{CLIENT}"
    limits = {"greet_pause": 100}
    result = module.build_cf("server", relay_domains=["example.com", site_client], limits=limits)
    access = world.etc / "salt-access"
    assert str(access) in result["files"] and (world.etc / "salt-access.db").exists()
    assert f"ClientConn:{site_client}\t0" in access.read_text()
    world.serve_and_queue(RELAY)
    with linked_netns(f"smt-fl{OUTSIDER}", OUTSIDER), linked_netns(f"smt-fl{CLIENT}", CLIENT):
        flood, greeted, refused = flood_from(f"smt-fl{OUTSIDER}", RELAY, 30)
        try:
            # At most client_connections (10) greetings; the rest get 421 at once, not a free slot.
            assert greeted == 10 and refused == 20, (greeted, refused)
            # The site's client, while the outsider still holds its connections: served at once.
            said = session(
                f"smt-fl{CLIENT}",
                RELAY,
                [
                    ["MAIL", "FROM:<cron@example.com>"],
                    ["RCPT", "TO:<ops@example.com>"],
                    ["DATA", "Subject: during the flood\n\nhi\n"],
                ],
            )
            assert [code for _, code, _ in said] == [220, 250, 250, 250, 250], said
        finally:
            flood.stdin.close()
            flood.wait(timeout=30)
    [queued] = world.queued_ids("mta")
    assert "Subject: during the flood" in (world.mqueue / f"qf{queued}").read_text(errors="replace")


def test_a_new_flood_limit_holds_from_the_next_connection_and_the_mta_goes_on(make_world, set_lookup):
    # The server role writes a changed access map without restarting the MTA (the cf is the
    # same): each SMTP connection reads the map anew, while the daemon keeps its count.
    from tests.support.netns import bridge, linked_netns
    from tests.support.tls_relay import OUTSIDER, RELAY

    bridge()
    world = make_world()
    module = set_lookup(world.lookup)
    module.build_cf("server", relay_domains=["example.com"], limits={"client_connections": 4})
    daemon = world.serve_and_queue(RELAY)
    floods = []
    with linked_netns(f"smt-nl{OUTSIDER}", OUTSIDER):
        try:
            flood, greeted, refused = flood_from(f"smt-nl{OUTSIDER}", RELAY, 6)
            floods.append(flood)
            assert (greeted, refused) == (4, 2)
            rebuilt = module.build_cf(
                "server", relay_domains=["example.com"], limits={"client_connections": 8}
            )
            assert list(rebuilt["files"]) == [str(world.etc / "salt-access")], rebuilt["files"]
            # Four more while the first four are held: eight in all, the same daemon counting.
            flood, greeted, refused = flood_from(f"smt-nl{OUTSIDER}", RELAY, 6)
            floods.append(flood)
            assert (greeted, refused) == (4, 2)
            assert daemon.poll() is None
        finally:
            for flood in floods:
                flood.stdin.close()
                flood.wait(timeout=30)


def test_mail_waiting_on_dead_relays_is_a_finding_with_its_age_and_when_it_bounces(world, sendmail):
    # Every relay of the site is down (nothing answers on the test network's 198.51.100.99).
    sendmail.build_cf("msp", relay="[198.51.100.99]", limits={"queue_return": "2d"})
    assert "O Timeout.queuereturn=2d" in world.submit_cf.read_text().splitlines()
    for number in range(3):
        world.submit(f"user{number}@example.com", queue="msp")
    flushed = sendmail.flush("msp", timeout=60)["msp"]
    assert flushed["left"] == [] and len(flushed["remaining"]) == 3  # nothing lost, nothing sent
    status = sendmail.status()
    [finding] = [f for f in status["findings"] if f["id"] == "relay-unreachable"]
    assert finding["severity"] == "high"
    said = finding["message"]
    assert said.startswith("3 message(s) wait in the MSP queue for a relay that cannot be reached"), said
    assert "198.51.100.99" in said or "unreachable" in said, said
    assert "bounces back to its sender in 1 d 23 h" in said or "in 2 d" in said, said
    assert "queue-deferred" not in [f["id"] for f in status["findings"]]
    assert status["queues"]["msp"]["queue_return"] == 172800


def test_a_queue_disk_below_min_free_blocks_is_a_finding(world, sendmail, mounts):
    mounts.tmpfs(world.cqueue, "2m")
    assert "queue-disk-low" not in [f["id"] for f in sendmail.status()["findings"]]
    fill(world.cqueue, leave=50 * 4096)  # 50 blocks: below submit.cf's MinFreeBlocks (100)
    status = sendmail.status()
    [finding] = [f for f in status["findings"] if f["id"] == "queue-disk-low"]
    assert finding["severity"] == "high", finding
    assert str(world.cqueue) in finding["message"] and "below MinFreeBlocks 100" in finding["message"]
    [directory] = status["queues"]["msp"]["directories"]
    assert directory["free_blocks"] < 100 and status["queues"]["msp"]["min_free_blocks"] == 100


def test_a_journal_that_cannot_be_written_fails_the_run_before_any_change(world, sendmail, mounts):
    journal_dir = world.root / "lib"
    journal_dir.mkdir()
    mounts.tmpfs(journal_dir, "64k")
    fill(journal_dir)
    # The host's configuration, queues and journal directory (not the lock file: the lock's own).
    host = (world.etc, world.mqueue, world.cqueue, journal_dir)
    before = snapshot(*host)
    from saltext.sendmail.shared import transaction

    run = transaction.Run(sendmail.lookup(), "pid 1, job test")
    assert run.lock(wait=0) is None
    try:
        with pytest.raises(
            CommandExecutionError, match=r"could not journal the role change: .*No space left"
        ):
            run.begin("client", {"mta": True, "msp_runner": True})
    finally:
        run.finish(completed=False)
    assert snapshot(*host) == before
    assert sendmail.status()["interrupted_run"] is None


def test_the_access_map_is_built_where_makemap_would_not_trust_the_directory(world, sendmail):
    # /etc/mail owned by a user that is neither root nor the cf's TrustedUser (a Red Hat cf on a
    # Debian-owned /etc/mail): makemap refuses to write there ("Permission denied").
    os.chown(world.etc, pwd.getpwnam("nobody").pw_uid, -1)
    result = sendmail.build_cf("server", relay_domains=["example.com"])
    assert str(world.etc / "salt-access") in result["files"]
    assert (world.etc / "salt-access.db").exists()
    assert not [name for name in os.listdir(world.etc) if name.startswith(".salt-private.")]


def test_an_access_map_change_alone_rewrites_neither_the_mc_nor_the_cf(world, sendmail):
    sendmail.build_cf("server", relay_domains=["example.com"])
    inodes = {path: os.stat(path).st_ino for path in (world.sendmail_cf, world.etc / "sendmail.mc")}
    result = sendmail.build_cf("server", relay_domains=["example.com"], limits={"client_rate": 60})
    assert list(result["files"]) == [str(world.etc / "salt-access")]
    assert "ClientRate:\t60" in (world.etc / "salt-access").read_text()
    assert {path: os.stat(path).st_ino for path in inodes} == inodes
