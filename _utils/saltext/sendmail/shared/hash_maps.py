"""
The hash maps sendmail reads (the virtusertable, the access map, the authinfo map), built by
makemap from their text. makemap refuses a directory owned by neither root nor sendmail.cf's
TrustedUser (seen: a Debian /etc/mail, owned by smmta, under a cf that names no TrustedUser:
"error opening type hash map ... Permission denied"), so each map is built in a root-owned 0700
directory beside it, given its owner and mode there, then renamed into place.
"""

import os

from . import errors, files


def build(lookup, run, name, text, gid=0, mode=0o644, backup=False, live=None):
    """
    Build ``name``.db from ``text`` (makemap's ``key<TAB>value`` lines), owned by root and
    ``gid`` with ``mode``; ``backup`` keeps the old map as ``name.db.bak``. An error names
    ``live`` (the map ``name`` is a scratch copy of), else ``name``, and makemap's line, never
    a value.
    """
    directory, base = os.path.split(name)
    with files.private_dir(directory) as private:
        built = os.path.join(private, base)
        errors.run_checked(
            run,
            [lookup["makemap_bin"], "hash", built],
            f"makemap for {live or name}",
            timeout=int(lookup["validate_timeout"]),
            stdin=text,
        )
        files.own(built + ".db", 0, gid, mode)
        files.install(built + ".db", name + ".db", backup=backup)


def prepare(lookup, run, path, text):
    """
    The map ``path`` from ``text``, built beside it as a temp source and its ``.db`` (makemap
    refuses: nothing is left behind, nothing live changed). Returns the temp source's path, for
    :func:`commit`.
    """
    tmp = files.write_temp(path, text)
    try:
        build(lookup, run, tmp, text, live=path)
    except BaseException:
        files.discard(tmp, tmp + ".db")
        raise
    return tmp


def commit(tmp, path):
    """Rename a prepared map and its source into place (the old source kept as ``.bak``)."""
    files.install(tmp + ".db", path + ".db", backup=False)
    files.install(tmp, path)
