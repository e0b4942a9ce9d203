"""
What "nothing changed" means: every file under some directories with its content hash. Used from the
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


def snapshot(*directories):
    """``{path: sha256}`` for every file under ``directories`` (a missing directory has none)."""
    files = {}
    for directory in directories:
        for root, _, names in os.walk(directory):
            for name in names:
                path = os.path.join(root, name)
                with open(path, "rb") as handle:
                    files[path] = hashlib.sha256(handle.read()).hexdigest()
    return files


def snapshot_command(*directories):
    """The shell command that prints :func:`snapshot` of ``directories`` (default: HOST_DIRS)."""
    return shlex.join([sys.executable, os.path.abspath(__file__), *(directories or HOST_DIRS)])


if __name__ == "__main__":
    print(json.dumps(snapshot(*sys.argv[1:]), sort_keys=True))
