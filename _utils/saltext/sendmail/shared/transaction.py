"""
One role change at a time, and a record of the one under way: a per-host lock (``flock`` on
``lock_file``) that a second run waits for, a bounded time, and a journal (``journal_file``)
written and fsync'd before the first file is swapped. The journal holds the configuration from
before the run (every managed file's text, the daemons that ran). A run that is killed leaves it
behind: ``sendmail.status`` reports it, with what changed since, and the next run rolls forward
from it, or back to it when that run fails too. The lock goes with the process that held it.
"""

import contextlib
import errno
import fcntl
import json
import os
import time

from salt.exceptions import CommandExecutionError

from . import errors, files, rollback

# The lock of this process's run: (path, open file). A flock belongs to an open file, so a second
# open of the same file in this process would wait on itself.
_HELD = {}


def acquire(lock_file, wait, holder):
    """
    Take the host's lock, waiting up to ``wait`` seconds; ``holder`` (text: pid, what runs) is
    written into the lock file for whoever waits next. Raises CommandExecutionError naming the
    holder when the time is up. Re-entrant within one process.
    """
    if lock_file in _HELD:
        return
    os.makedirs(os.path.dirname(lock_file), mode=0o755, exist_ok=True)
    handle = open(lock_file, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
    deadline = time.monotonic() + float(wait)
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                handle.close()
                raise
        if time.monotonic() >= deadline:
            handle.seek(0)
            held_by = handle.read().strip() or "a process that did not say"
            handle.close()
            raise CommandExecutionError(
                f"another sendmail role run holds {lock_file} ({held_by}); waited {wait} s, "
                "nothing changed"
            )
        time.sleep(0.2)
    handle.seek(0)
    handle.truncate()
    handle.write(f"{holder}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    handle.flush()
    _HELD[lock_file] = handle


def release(lock_file):
    """Let the next run go (the lock file stays: removing it would race with a waiting run)."""
    handle = _HELD.pop(lock_file, None)
    if handle is not None:
        with contextlib.suppress(OSError):
            handle.truncate(0)
        handle.close()


def held_elsewhere(lock_file):
    """Whether another process holds the lock now (a run is under way)."""
    if lock_file in _HELD:
        return False
    try:
        with open(lock_file, encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
    except OSError:
        return False
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
    of the cfs (a secret file is held by its inode only). Returns the journal.
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


def lock(lookup, holder, wait=None):
    """
    ``sendmail.lock``: :func:`acquire` the lookup's ``lock_file`` (waiting ``lock_timeout``
    unless ``wait``), then say what an unfinished earlier run changed (None when there was none).
    """
    with errors.os_errors("could not take the lock of a role change"):
        acquire(lookup["lock_file"], lookup["lock_timeout"] if wait is None else wait, holder)
    return interrupted(lookup)


def interrupted(lookup):
    """A sentence on the run that left its journal behind (None: none did, or it is still running)."""
    journal = read(lookup["journal_file"])
    if journal is None or held_elsewhere(lookup["lock_file"]):
        return None
    return describe(journal, changed_since(journal, rollback.saved(lookup)))


def begin(lookup, role, running, holder):
    """
    ``sendmail.begin``: the journal of this run, from the one an unfinished run left (its
    configuration is the last one known to work) or from the files and daemons as they are now.
    Returns ``files`` and ``running``: what a failure puts back. Only under the lock (a journal
    written beside a run that holds it would be taken for a killed run's).
    """
    if lookup["lock_file"] not in _HELD:
        raise CommandExecutionError("sendmail.begin needs sendmail.lock first")
    earlier = read(lookup["journal_file"])
    saved = earlier["files"] if earlier else rollback.saved(lookup)
    running = earlier.get("running", running) if earlier else running
    # A full or read-only disk here fails the run before its first change: nothing to put back.
    with errors.os_errors("could not journal the role change"):
        write_journal(lookup["journal_file"], role, saved, running, holder)
    return {"files": saved, "running": running}


def finish(lookup, completed):
    """``sendmail.finish``: the journal goes if the run ``completed``; the lock is released."""
    if completed:
        remove_journal(lookup["journal_file"])
    release(lookup["lock_file"])
    return {"journal": "removed" if completed else "kept"}
