"""
The transaction submodule (saltext.sendmail.shared.transaction): a real flock held by another
process, the journal on disk, what an unfinished run changed.
"""

import os
import subprocess
import sys
import time

import pytest
from salt.exceptions import CommandExecutionError

from saltext.sendmail.shared import platform, transaction

HOLD = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
handle.seek(0); handle.truncate(); handle.write("pid 4242, job highstate"); handle.flush()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def lookup(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "submit.cf").write_text("old submit.cf\n")
    return platform.lookup(
        "Debian",
        {
            "sendmail_cf": str(etc / "sendmail.cf"),
            "submit_cf": str(etc / "submit.cf"),
            "switch_files": {"debian": str(etc / "sendmail.conf")},
            "aliases_file": str(etc / "aliases"),
            "lock_file": str(tmp_path / "run" / "saltext-sendmail.lock"),
            "journal_file": str(tmp_path / "lib" / "run.json"),
        },
    )


def hold_lock(path, seconds):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, path, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_waits_then_fails_naming_the_holder(lookup):
    holder = hold_lock(lookup["lock_file"], 30)
    try:
        started = time.monotonic()
        with pytest.raises(
            CommandExecutionError, match=r"pid 4242, job highstate.*waited 1 s, nothing changed"
        ):
            transaction.lock(lookup, "pid 1, job second", wait=1)
        assert 0.9 < time.monotonic() - started < 5
        assert transaction.held_elsewhere(lookup["lock_file"])
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_goes_with_a_killed_holder_and_a_waiting_run_gets_it(lookup):
    holder = hold_lock(lookup["lock_file"], 1)
    try:
        assert transaction.lock(lookup, "pid 1, job second", wait=10) is None
        with open(lookup["lock_file"], encoding="utf-8") as handle:
            assert handle.read().startswith("pid 1, job second, since ")
        assert not transaction.held_elsewhere(lookup["lock_file"])
    finally:
        transaction.finish(lookup, completed=True)
        holder.wait()
    assert not transaction.held_elsewhere(lookup["lock_file"])


def test_an_unfinished_run_is_told_with_what_it_changed_and_the_next_starts_from_its_files(lookup):
    transaction.lock(lookup, "pid 7", wait=0)
    journal = transaction.begin(lookup, "client", {"mta": True, "msp_runner": True}, "pid 7")
    assert journal["files"][lookup["submit_cf"]] == "old submit.cf\n"
    assert os.stat(lookup["journal_file"]).st_mode & 0o777 == 0o600
    # The run writes a file, then is killed: its lock goes, its journal stays.
    with open(lookup["submit_cf"], "w", encoding="utf-8") as handle:
        handle.write("half-way submit.cf\n")
    transaction.release(lookup["lock_file"])
    said = transaction.interrupted(lookup)
    assert "toward the client role (pid 7)" in said and f"it had changed {lookup['submit_cf']}" in said
    # The next run takes the lock, is told, and rolls back to the first run's files if it fails.
    assert transaction.lock(lookup, "pid 8", wait=0) == said
    again = transaction.begin(lookup, "client", {"mta": False, "msp_runner": False}, "pid 8")
    assert again == journal
    assert transaction.finish(lookup, completed=True) == {"journal": "removed"}
    assert not os.path.exists(lookup["journal_file"]) and transaction.interrupted(lookup) is None


def test_a_run_that_could_not_put_things_back_keeps_its_journal(lookup):
    transaction.lock(lookup, "pid 9", wait=0)
    transaction.begin(lookup, "server", {"mta": False, "msp_runner": True}, "pid 9")
    assert transaction.finish(lookup, completed=False) == {"journal": "kept"}
    assert "it had changed no file" in transaction.interrupted(lookup)


def test_a_journal_that_is_no_journal_is_ignored(lookup):
    os.makedirs(os.path.dirname(lookup["journal_file"]))
    with open(lookup["journal_file"], "w", encoding="utf-8") as handle:
        handle.write("{not json")
    assert transaction.interrupted(lookup) is None


def test_a_journal_is_written_only_under_the_lock(lookup):
    with pytest.raises(CommandExecutionError, match=r"needs sendmail\.lock first"):
        transaction.begin(lookup, "client", {"mta": True, "msp_runner": True}, "pid 10")
    assert not os.path.exists(lookup["journal_file"])
