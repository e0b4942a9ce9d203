"""
Reading and writing files. The only place in the package that writes: each file is replaced
atomically (a temp file in the target directory, fsync, rename, fsync of the directory), with the
same mode and owner, and where asked the previous file kept as ``.bak``.
"""

import contextlib
import glob
import os
import stat
import tempfile


def read_text(path):
    """A file's text, or None when it is missing or unreadable (a directory, no permission)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def write_temp(path, text):
    """
    Write ``text`` to a new temp file beside ``path`` (same filesystem, so the rename is atomic),
    fsync'd, with ``path``'s mode and owner (0644 root for a new file). Returns the temp path.
    """
    directory, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            st = os.stat(path)
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            os.chown(tmp, st.st_uid, st.st_gid)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def install(tmp, target, backup=True):
    """Rename ``tmp`` over ``target`` (and fsync the directory), keeping the old one as ``.bak``."""
    if backup and os.path.exists(target):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target + ".bak")
        os.link(target, target + ".bak")
    os.replace(tmp, target)
    dir_fd = os.open(os.path.dirname(target) or ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def discard(*temps):
    """Remove temp files that were not installed (None entries are skipped)."""
    for tmp in temps:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def remove_stale_temps(*targets):
    """A run killed between writing and renaming leaves its temp files behind: remove them."""
    for target in targets:
        directory, name = os.path.split(target)
        for stale in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}.*.tmp")):
            discard(stale)


def replace(path, text):
    """Replace ``path`` atomically with ``text``, or remove it when ``text`` is None. No backup."""
    if text is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    tmp = write_temp(path, text)
    try:
        install(tmp, path, backup=False)
    except BaseException:
        discard(tmp)
        raise


def replace_all(texts):
    """Replace each file of ``texts`` (path: text, or None to remove it), in order."""
    for path, text in texts.items():
        replace(path, text)


def replace_private(path, text, mode, uid, gid):
    """
    Replace ``path`` with ``text``, owned ``uid``:``gid`` with ``mode`` before it gets its name (the
    temp file is 0600 from its creation), the old one kept as ``.bak``. For keys and secrets.
    """
    directory, name = os.path.split(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        install(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def own(path, uid, gid, mode):
    """Give ``path`` its owner, then its mode."""
    os.chown(path, uid, gid)
    os.chmod(path, mode)


@contextlib.contextmanager
def private_dir(directory):
    """A new 0700 directory in ``directory``: others cannot open what is made in it. Removed after."""
    private = tempfile.mkdtemp(prefix=".salt-private.", dir=directory)
    try:
        yield private
    finally:
        for name in os.listdir(private):
            os.unlink(os.path.join(private, name))
        os.rmdir(private)


def remove_keeping_backup(path):
    """Remove ``path``, the old file kept as ``.bak``."""
    if os.path.exists(path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + ".bak")
        os.link(path, path + ".bak")
        os.unlink(path)


def restore_backup(path):
    """Put ``path``'s ``.bak`` back in its place."""
    os.replace(path + ".bak", path)
