"""
Contract defects found while splitting the module into a package, each shown with the real loader,
the real m4 and sendmail on a test world: these tests failed before their fixes.
"""

import os
import pathlib

import pytest
from salt.exceptions import CommandExecutionError

from tests.support.snapshot import snapshot


def test_an_os_error_while_installing_becomes_a_command_error_and_changes_nothing(world, sendmail):
    # submit.mc is a directory: the build gets as far as renaming, and the kernel refuses. The
    # state catches CommandExecutionError and puts things back; a bare OSError escaped it.
    (world.etc / "submit.mc").mkdir()
    before = snapshot(world.root)
    with pytest.raises(CommandExecutionError, match=r"msp configuration: .*submit\.mc"):
        sendmail.build_cf("msp", "[relay.example.test]")
    assert snapshot(world.root) == before
    assert not [name for name in os.listdir(world.etc) if name.endswith(".tmp")]


def failing_update_conf(world, times):
    """A stand-in for Debian's update_conf that fails its first ``times`` runs."""
    counter = world.root / "update_conf.runs"
    script = world.root / "update_conf"
    script.write_text(
        f"#!/bin/sh\nn=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) >{counter}\n"
        f'[ "$n" -ge {times} ] || {{ echo "update_conf: broken" >&2; exit 1; }}\n'
    )
    script.chmod(0o755)
    return str(script)


def test_switch_says_the_old_files_are_back_only_when_they_are(world, set_lookup):
    sendmail = set_lookup({**world.lookup, "debian_update_conf": failing_update_conf(world, 1)})
    old = world.sendmail_conf.read_text()
    with pytest.raises(CommandExecutionError) as err:
        sendmail.switch("client")
    assert "update_conf failed" in str(err.value)
    assert "(the old switch files are back)" in str(err.value)
    assert world.sendmail_conf.read_text() == old


def test_switch_says_when_putting_the_old_files_back_failed_too(world, set_lookup):
    sendmail = set_lookup({**world.lookup, "debian_update_conf": failing_update_conf(world, 2)})
    with pytest.raises(CommandExecutionError) as err:
        sendmail.switch("client")
    said = str(err.value)
    assert "are back" not in said and "put back)" not in said
    assert said.count("update_conf failed") == 2


def test_a_directory_named_like_a_qf_file_is_not_a_message(world, sendmail):
    world.submit("a@example.com")
    (world.mqueue / "qf6AQ6GcZx000010").mkdir()
    queue = sendmail.status()["queues"]["mta"]
    assert queue["count"] == 1
    [real] = [queue_id for queue_id in world.queued_ids("mta") if queue_id != "6AQ6GcZx000010"]
    assert [message["id"] for message in sendmail.queue("mta", messages=True)["messages"]] == [real]


def test_restore_writes_only_the_files_that_differ(world, sendmail):
    saved = sendmail.config_files()
    assert saved[str(world.submit_cf)] == world.submit_cf.read_text()
    assert saved[str(world.etc / "submit.mc")] is None
    sendmail.build_cf("msp", "[relay.example.test]")
    unchanged = os.stat(world.sendmail_conf).st_mtime_ns
    # Written back .mc first: a start script rebuilds a cf from an .mc that is newer than it.
    assert sendmail.restore(dict(reversed(saved.items()))) == {
        "restored": [str(world.etc / "submit.mc"), str(world.submit_cf)],
        "not_restored": {},
    }
    assert world.submit_cf.read_text() == saved[str(world.submit_cf)]
    assert not (world.etc / "submit.mc").exists()
    assert os.stat(world.sendmail_conf).st_mtime_ns == unchanged
    # A path that is not the package's is named, and nothing is written for it.
    passwd = pathlib.Path("/etc/passwd").read_bytes()
    assert sendmail.restore({"/etc/passwd": "root::0:0::/:/bin/sh\n"})["not_restored"] == {
        "/etc/passwd": "not a file this package manages (the lookup no longer names it)"
    }
    assert pathlib.Path("/etc/passwd").read_bytes() == passwd


def test_an_installed_cf_is_never_older_than_its_mc(world, sendmail):
    # A rename keeps a file's mtime, and a vendor's start script rebuilds a cf from an .mc that is
    # newer (Red Hat's ExecStartPre=-/etc/mail/make): found under Red Hat's units (tests/systemd).
    for kind, relay in (("msp", "[relay.example.test]"), ("server", None)):
        sendmail.build_cf(kind, relay)
        name = "submit" if kind == "msp" else "sendmail"
        cf_mtime = (world.etc / f"{name}.cf").stat().st_mtime_ns
        assert cf_mtime >= (world.etc / f"{name}.mc").stat().st_mtime_ns, kind
