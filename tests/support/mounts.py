"""
Mounts a fault test makes in the test run's own mount namespace (scripts/test.sh runs the suite in
one): a small tmpfs that fills up, a file bind-mounted over another as a container gets it. Each
is unmounted after the test, even when it fails.
"""

import contextlib
import os
import shutil
import subprocess


class Mounts:
    def __init__(self):
        self.made = []

    def tmpfs(self, directory, size):
        """A tmpfs of ``size`` (``64k``) over ``directory``, holding a copy of what was there."""
        saved = f"{directory}.saved"
        subprocess.run(["cp", "-a", str(directory), saved], check=True)
        st = os.stat(directory)
        self._mount(["-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)])
        # Owners and modes too: sendmail refuses a queue directory that is not its own.
        subprocess.run(["cp", "-a", f"{saved}/.", str(directory)], check=True)
        os.chown(directory, st.st_uid, st.st_gid)
        os.chmod(directory, st.st_mode & 0o7777)
        shutil.rmtree(saved)

    def bind(self, source, target):
        """``source`` bind-mounted over ``target`` (a file over a file: a mount point of its own)."""
        self._mount(["--bind", str(source), str(target)])

    def _mount(self, args):
        subprocess.run(["mount", *args], check=True)
        self.made.append(args[-1])

    def remove(self):
        for target in reversed(self.made):
            subprocess.run(["umount", "-l", target], check=False)
        self.made.clear()


def fill(directory, leave=0):
    """Fill the file system of ``directory`` until at most ``leave`` bytes are free."""
    path = os.path.join(directory, "filler")
    with open(path, "wb") as handle, contextlib.suppress(OSError):
        while True:
            st = os.statvfs(directory)
            free = st.f_bavail * st.f_frsize
            if free <= leave:
                break
            handle.write(b"\0" * min(free - leave, 65536))
            handle.flush()
    return path
