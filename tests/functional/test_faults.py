"""
Faults from outside the package, on a private sendmail host through Salt's real loader: a full
file system while a configuration is written, a file that is a mount point of its own (an
/etc/aliases bind-mounted into a container), a queue whose disk is nearly full.
"""

import os

import pytest
from salt.exceptions import CommandExecutionError

from tests.support.mounts import Mounts, fill
from tests.support.snapshot import snapshot

RELAY = "[198.51.100.11]"


@pytest.fixture
def mounts():
    made = Mounts()
    yield made
    made.remove()


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
