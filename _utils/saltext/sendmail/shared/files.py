"""
Reading and writing files. The only place in the package that writes: each file is replaced
atomically (a temp file in the target directory, fsync, rename, fsync of the directory), with the
same mode and owner, and where asked the previous file kept as ``.bak``. A file that is a mount
point of its own (bind-mounted into a container) cannot be renamed over: it is written in place,
after its backup, and fsync'd. A full or read-only file system is named with the space asked for.
"""

import contextlib
import errno
import glob
import json
import os
import shutil
import stat
import tempfile

# rename(2) over a file that is a mount point of its own: EXDEV (another file system), EBUSY (the
# same one bind-mounted); link(2) for the backup fails the same way.
_MOUNTED_FILE = (errno.EXDEV, errno.EBUSY)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


# Bytes that are not UTF-8 (a Latin-1 comment in /etc/aliases) are read as lone surrogates and
# written back as the same bytes: what the package only keeps, moves or restores stays byte for byte.
ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


def read_text(path):
    """
    A file's text, or None when it is missing or unreadable (a directory, no permission). Bytes
    that are not UTF-8 come back as lone surrogates, which :func:`write_temp` writes back as they
    were; :func:`shown` makes such text fit for Salt's output.
    """
    try:
        with open(path, newline="", **ENCODING) as handle:
            return handle.read()
    except OSError:
        return None


def shown(text):
    """``text`` for an operator's eyes and Salt's output: a byte that is not UTF-8 as U+FFFD."""
    if text is None:
        return None
    return text.encode(**ENCODING).decode("utf-8", errors="replace")


def shown_data(value):
    """
    ``value`` (mappings, lists, text) with :func:`shown` applied to every text in it: what a
    function returns over Salt's wire, whose msgpack refuses the lone surrogates ("surrogates not
    allowed") that a file's non-UTF-8 bytes become when read.
    """
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {shown_data(key): shown_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [shown_data(item) for item in value]
    return value


def write_temp(path, text):
    """
    Write ``text`` to a new temp file beside ``path`` (same filesystem, so the rename is atomic),
    fsync'd, with ``path``'s mode and owner (0644 root for a new file). Returns the temp path.
    """
    directory, name = os.path.split(path)
    data = text.encode(**ENCODING)
    with _naming_space(path, len(data)):
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory or ".")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
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


def mount_point(path):
    """The mount point of the file system that holds ``path`` (or would hold it)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


@contextlib.contextmanager
def _naming_space(path, needed):
    """A full, over-quota or read-only file system raises an OSError naming it and the space asked."""
    try:
        yield
    except OSError as err:
        if err.errno not in _NO_SPACE:
            raise
        where = mount_point(path)
        detail = f"{err.strerror} on the file system mounted at {where}"
        if err.errno != errno.EROFS:
            with contextlib.suppress(OSError):
                st = os.statvfs(where)
                detail += f" ({st.f_bavail * st.f_frsize} bytes free, {needed} needed)"
        raise OSError(err.errno, detail, path) from err


def install(tmp, target, backup=True):
    """
    Rename ``tmp`` over ``target`` (and fsync the directory), keeping the old one as ``.bak``.
    A ``target`` that is a mount point of its own is written in place instead (after the backup),
    and ``tmp`` removed. Returns True when it was written in place.
    """
    if backup and os.path.exists(target):
        _keep_backup(target)
    try:
        os.replace(tmp, target)
    except OSError as err:
        if err.errno not in _MOUNTED_FILE:
            raise
        _write_in_place(tmp, target)
        return True
    _fsync_dir(os.path.dirname(target))
    return False


def _fsync_dir(directory):
    dir_fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _keep_backup(target):
    """``target.bak``: a hard link, or a copy where ``target`` is a mount point of its own."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target + ".bak")
    try:
        os.link(target, target + ".bak")
    except OSError as err:
        if err.errno not in _MOUNTED_FILE:
            raise
        with _naming_space(target + ".bak", os.stat(target).st_size):
            shutil.copy2(target, target + ".bak")
            with open(target + ".bak", "rb+") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(os.path.dirname(target))


def _write_in_place(tmp, target):
    """Copy ``tmp``'s bytes into ``target`` itself (its inode, owner and mode stay), fsync'd."""
    with open(tmp, "rb") as source:
        data = source.read()
    with _naming_space(target, len(data)), open(target, "rb+") as handle:
        old = handle.read()
        try:
            _overwrite(handle, data)
        except OSError:
            _overwrite(handle, old)  # fits: it was there, in the blocks it had
            raise
    os.unlink(tmp)


def _overwrite(handle, data):
    handle.seek(0)
    handle.write(data)
    handle.truncate()
    handle.flush()
    os.fsync(handle.fileno())


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
    """
    Replace ``path`` atomically with ``text`` (in place when it is a mount point of its own: then
    True), or remove it when ``text`` is None. No backup.
    """
    if text is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    tmp = write_temp(path, text)
    try:
        return install(tmp, path, backup=False)
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
        with os.fdopen(fd, "w", newline="", **ENCODING) as handle:
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


def read_cache(directory, name):
    """A cache file's data (JSON) in ``directory`` (the minion's cache dir), None if none or bad."""
    text = read_text(os.path.join(directory, name)) if directory else None
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def write_cache(directory, name, data):
    """Keep ``data`` in a cache file; one that cannot be written is computed again next time."""
    if not directory:
        return
    with contextlib.suppress(OSError):
        os.makedirs(directory, exist_ok=True)
        replace(os.path.join(directory, name), json.dumps(data))
