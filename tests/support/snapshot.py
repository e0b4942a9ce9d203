"""
What "nothing changed" means: files, or every file under some directories, with their content hash. Used from the
test process on a test world's directories, and inside a test host (``python3 snapshot.py DIR...``
prints the same as JSON) on its real paths.
"""

import hashlib
import json
import os
import shlex
import sys

# A host's mail files, switch, cron tables and queues.
HOST_DIRS = (
    "/etc/mail",
    "/etc/cron.d",
    "/var/spool/cron/crontabs",
    "/var/spool/mqueue",
    "/var/spool/mqueue-client",
)


def snapshot(*paths):
    """
    ``{path: sha256}`` for each file named in ``paths`` and every file under each directory named
    there (a missing path has none; a symbolic link has ``-> target``).
    """
    files = {}
    for top in paths:
        if os.path.isfile(top):
            found = [top]
        else:
            found = [os.path.join(root, name) for root, _, names in os.walk(top) for name in names]
        for path in found:
            if os.path.islink(path):  # its target, which may be gone (a removed package's)
                files[path] = f"-> {os.readlink(path)}"
                continue
            with open(path, "rb") as handle:
                files[path] = hashlib.sha256(handle.read()).hexdigest()
    return files


def snapshot_command(*paths, python=sys.executable):
    """The shell command that prints :func:`snapshot` of ``paths`` (default: HOST_DIRS)."""
    return shlex.join([str(python), os.path.abspath(__file__), *(paths or HOST_DIRS)])


if __name__ == "__main__":
    print(json.dumps(snapshot(*sys.argv[1:]), sort_keys=True))
