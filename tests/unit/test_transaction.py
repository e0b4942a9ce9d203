"""
The transaction submodule (saltext.sendmail.shared.transaction): a real flock held by another
process or another run of this one, the journal on disk, what an unfinished run changed.
"""

import os
import subprocess
import sys
import threading
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
            transaction.Run(lookup, "pid 1, job second").lock(wait=1)
        assert 0.9 < time.monotonic() - started < 5
        assert transaction.held(lookup["lock_file"])
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_goes_with_a_killed_holder_and_a_waiting_run_gets_it(lookup):
    holder = hold_lock(lookup["lock_file"], 1)
    run = transaction.Run(lookup, "pid 1, job second")
    try:
        assert run.lock(wait=10) is None
        with open(lookup["lock_file"], encoding="utf-8") as handle:
            assert handle.read().startswith("pid 1, job second, since ")
        assert transaction.held(lookup["lock_file"])
    finally:
        run.finish(completed=True)
        holder.wait()
    assert not transaction.held(lookup["lock_file"])


def test_two_runs_in_one_process_wait_for_each_other(lookup):
    # A minion with multiprocessing: False runs its jobs in threads of one process.
    first, second = transaction.Run(lookup, "job 1"), transaction.Run(lookup, "job 2")
    assert first.lock(wait=0) is None
    with pytest.raises(CommandExecutionError, match=r"\(job 1, since .*waited 0 s"):
        second.lock(wait=0)
    got = threading.Event()
    waiting = threading.Thread(target=lambda: (second.lock(wait=30), got.set()))
    waiting.start()
    assert not got.wait(0.5)
    first.finish(completed=True)  # only first's lock goes: second takes it
    assert got.wait(10)
    waiting.join()
    assert transaction.held(lookup["lock_file"])
    # first finishing again (a bug's double call) does not free second's lock.
    first.finish(completed=True)
    assert transaction.held(lookup["lock_file"])
    second.finish(completed=True)
    assert not transaction.held(lookup["lock_file"])


def test_an_unfinished_run_is_told_with_what_it_changed_and_the_next_starts_from_its_files(lookup):
    first = transaction.Run(lookup, "pid 7")
    first.lock(wait=0)
    journal = first.begin("client", {"mta": True, "msp_runner": True})
    assert journal["files"][lookup["submit_cf"]] == "old submit.cf\n"
    assert os.stat(lookup["journal_file"]).st_mode & 0o777 == 0o600
    # While it runs, status says nothing of it: its journal is its own.
    assert transaction.interrupted(lookup) is None
    # The run writes a file, then is killed: its lock goes, its journal stays.
    with open(lookup["submit_cf"], "w", encoding="utf-8") as handle:
        handle.write("half-way submit.cf\n")
    first.release()
    said = transaction.interrupted(lookup)
    assert "toward the client role (pid 7)" in said and f"it had changed {lookup['submit_cf']}" in said
    # The next run takes the lock, is told, and rolls back to the first run's files if it fails.
    second = transaction.Run(lookup, "pid 8")
    assert second.lock(wait=0) == said
    again = second.begin("client", {"mta": False, "msp_runner": False})
    assert again == journal
    assert second.finish(completed=True) == {"journal": "removed"}
    assert not os.path.exists(lookup["journal_file"]) and transaction.interrupted(lookup) is None


def test_a_run_that_could_not_put_things_back_keeps_its_journal(lookup):
    run = transaction.Run(lookup, "pid 9")
    run.lock(wait=0)
    run.begin("server", {"mta": False, "msp_runner": True})
    assert run.finish(completed=False) == {"journal": "kept"}
    assert "it had changed no file" in transaction.interrupted(lookup)


def test_a_journal_that_is_no_journal_is_ignored(lookup):
    os.makedirs(os.path.dirname(lookup["journal_file"]))
    with open(lookup["journal_file"], "w", encoding="utf-8") as handle:
        handle.write("{not json")
    assert transaction.interrupted(lookup) is None


def test_a_journal_is_written_only_under_the_lock(lookup):
    with pytest.raises(CommandExecutionError, match=r"only under the host's lock"):
        transaction.Run(lookup, "pid 10").begin("client", {"mta": True, "msp_runner": True})
    assert not os.path.exists(lookup["journal_file"])


def test_a_journal_keeps_bytes_that_are_not_utf8(lookup):
    latin1 = "müller: ops\n# Grüße\n".encode("latin-1")
    with open(lookup["submit_cf"], "wb") as handle:
        handle.write(latin1)
    run = transaction.Run(lookup, "pid 11")
    run.lock(wait=0)
    run.begin("client", {"mta": True, "msp_runner": True})
    run.release()
    kept = transaction.read(lookup["journal_file"])["files"][lookup["submit_cf"]]
    assert kept.encode("utf-8", "surrogateescape") == latin1
