"""
One role change at a time, and a record of the one under way: a per-host lock (``flock`` on
``lock_file``) that a second run waits for, a bounded time, and a journal (``journal_file``)
written and fsync'd before the first file is swapped. The journal holds the configuration from
before the run (every managed file's text, the daemons that ran). A run that is killed leaves it
behind: ``sendmail.status`` reports it, with what changed since, and the next run rolls forward
from it, or back to it when that run fails too. The lock goes with the process that held it.

A :class:`Run` holds the lock through an open file of its own: a flock belongs to an open file,
so two runs in one process (a minion with ``multiprocessing: False`` runs jobs in threads) wait
for each other as two processes do, and one run's end never releases another's lock. None of
this is an execution function: a Salt job cannot hold a lock from one call to the next, and a
public ``finish`` could delete the journal of a run under way.
"""

import contextlib
import errno
import fcntl
import json
import os
import time

from salt.exceptions import CommandExecutionError

from . import errors, files, rollback


def _open_lock(lock_file):
    os.makedirs(os.path.dirname(lock_file), mode=0o755, exist_ok=True)
    return open(lock_file, "a+", encoding="utf-8")


def _try_flock(handle, operation):
    """Whether ``flock`` with ``operation`` (LOCK_EX or LOCK_SH) was granted at once."""
    try:
        fcntl.flock(handle, operation | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False
    return True


class Run:
    """
    One role change on a host: :meth:`lock`, then :meth:`begin` before the first change, then
    :meth:`finish` whatever happened. ``holder`` (text: pid, job) is written into the lock file
    for whoever waits next.
    """

    def __init__(self, lookup, holder):
        self.lookup, self.holder = lookup, holder
        self._handle = None

    def lock(self, wait=None):
        """
        Take the host's lock, waiting up to ``wait`` seconds (lookup ``lock_timeout``); raises
        CommandExecutionError naming the holder when the time is up. Then, under the lock, say
        what an earlier run that did not finish changed (None when there was none).
        """
        wait = self.lookup["lock_timeout"] if wait is None else wait
        lock_file = self.lookup["lock_file"]
        with errors.os_errors("could not take the lock of a role change"):
            handle = _open_lock(lock_file)
            deadline = time.monotonic() + float(wait)
            try:
                while not _try_flock(handle, fcntl.LOCK_EX):
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        held_by = handle.read().strip() or "a process that did not say"
                        raise CommandExecutionError(
                            f"another sendmail role run holds {lock_file} ({held_by}); waited "
                            f"{wait} s, nothing changed"
                        )
                    time.sleep(0.2)
            except BaseException:
                handle.close()
                raise
            handle.seek(0)
            handle.truncate()
            handle.write(f"{self.holder}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            handle.flush()
        self._handle = handle
        # Under the lock: a journal here is a killed run's, not one still running.
        return _describe_journal(self.lookup)

    def begin(self, role, running):
        """
        The journal of this run, from the one an unfinished run left (its configuration is the
        last one known to work) or from the files and daemons as they are now. Returns ``files``
        and ``running``: what a failure puts back. Only under the lock (a journal written beside
        a run that holds it would be taken for a killed run's).
        """
        if self._handle is None:
            raise CommandExecutionError("a role run journals its change only under the host's lock")
        journal_file = self.lookup["journal_file"]
        earlier = read(journal_file)
        saved = earlier["files"] if earlier else rollback.saved(self.lookup)
        running = earlier.get("running", running) if earlier else running
        # A full or read-only disk here fails the run before its first change: nothing to put back.
        with errors.os_errors("could not journal the role change"):
            write_journal(journal_file, role, saved, running, self.holder)
        return {"files": saved, "running": running}

    def finish(self, completed):
        """The journal goes if the run ``completed`` (only under the lock); the lock is released."""
        if completed and self._handle is not None:
            remove_journal(self.lookup["journal_file"])
        self.release()
        return {"journal": "removed" if completed else "kept"}

    def release(self):
        """Let the next run go (the lock file stays: removing it would race with a waiting run)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.truncate(0)
            handle.close()


def held(lock_file):
    """Whether a run holds the lock now (in any process, this one included)."""
    try:
        with open(lock_file, encoding="utf-8") as handle:
            return not _try_flock(handle, fcntl.LOCK_SH)
    except OSError:
        return False


def read(journal_file):
    """The journal of a run that did not finish (None when there is none, or it is unreadable)."""
    text = files.read_text(journal_file)
    if not text:
        return None
    try:
        journal = json.loads(text)
    except ValueError:
        return None
    return journal if isinstance(journal, dict) and "files" in journal else None


def write_journal(journal_file, role, saved, running, holder):
    """
    Write the journal of a run of ``role`` that starts from ``saved`` (:func:`rollback.saved`)
    and ``running`` (the daemons), fsync'd, before any file changes. Root-only: it holds the texts
    of the cfs (a secret file is held by its inode only). A file's bytes that are not UTF-8 are
    kept as JSON escapes (``files.read_text``), so they come back byte for byte. Returns the
    journal.
    """
    journal = {
        "role": role,
        "started": int(time.time()),
        "by": holder,
        "files": saved,
        "running": running,
    }
    directory = os.path.dirname(journal_file)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    files.replace_private(journal_file, json.dumps(journal, sort_keys=True), 0o600, 0, 0)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal_file + ".bak")  # replace_private keeps one; a journal needs none
    return journal


def remove_journal(journal_file):
    """The run ended (converged, or rolled back): its journal goes."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal_file)


def changed_since(journal, now_texts):
    """The managed files whose text differs from the journal's (what the unfinished run changed)."""
    return sorted(
        path for path, text in journal["files"].items() if path in now_texts and now_texts[path] != text
    )


def describe(journal, changed):
    """One sentence on an unfinished run: when, by whom, toward which role, what it changed."""
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(journal.get("started", 0)))
    what = f"it had changed {', '.join(changed)}" if changed else "it had changed no file"
    return (
        f"a run toward the {journal.get('role')} role ({journal.get('by')}) started {started} "
        f"and did not finish: {what}"
    )


def _describe_journal(lookup):
    journal = read(lookup["journal_file"])
    if journal is None:
        return None
    return describe(journal, changed_since(journal, rollback.saved(lookup)))


def interrupted(lookup):
    """
    For ``sendmail.status``: a sentence on the run that left its journal behind; None when none
    did, or a run is under way. The journal is read under a shared lock, which no run can hold
    beside: a run that ends meanwhile cannot make its journal look abandoned.
    """
    if not os.path.exists(lookup["journal_file"]):
        return None
    try:
        handle = open(lookup["lock_file"], encoding="utf-8")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return _describe_journal(lookup)  # no lock file: no run since boot (/run is a tmpfs)
    except OSError:
        return None
    with handle:
        if not _try_flock(handle, fcntl.LOCK_SH):
            return None  # a run under way: its journal is its own
        return _describe_journal(lookup)
