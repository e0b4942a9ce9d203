"""
Which MTA answers as the sendmail binary, and sendmail's version, without ever waiting for a
sendmail run that stalls (the 60-second unqualified-hostname sleep).
"""

import mmap
import os
import re
import selectors
import subprocess
import time

from . import files

PROBE_TIMEOUT = 5
CACHE_NAME = "sendmail-binary.json"


def provider_of(path):
    """
    Which MTA a sendmail binary belongs to, read from its name and bytes (no process run):
    postfix's and exim's sendmail must not be run with sendmail's flags. None when it may be ours.
    """
    real = os.path.realpath(path)
    name = os.path.basename(real)
    for provider in ("exim", "postfix"):
        if provider in name:
            return provider
    try:
        with (
            open(real, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            if data.find(b"MAIL_CONFIG") != -1 or data.find(b"postfix") != -1:
                return "postfix"
            if data.find(b"Exim version") != -1 or data.find(b"exim_path") != -1:
                return "exim"
    except (OSError, ValueError):
        return None
    return None


def probe(binary, timeout=PROBE_TIMEOUT):
    """
    Run ``sendmail -d0.1 -bt`` and stop it once it has printed ``Version x.y.z``. Not
    cmd.run_all: sendmail prints the version first and then may sleep 60 s on an unqualified
    hostname, so the process is read line by line and killed instead of waited for.
    """
    try:
        proc = subprocess.Popen(
            [binary, "-d0.1", "-bt"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
            start_new_session=True,
        )
    except OSError:
        return None
    output = b""
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    break
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                output += chunk
                match = re.search(rb"Version (\S+)\s", output)
                if match:
                    return match.group(1).decode("ascii", "replace")
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    return None


def parse_version(text):
    """The version tuple of ``"8.17.1.9"``, or None when it is not a dotted number."""
    if not text or not re.fullmatch(r"\d+(\.\d+)*", text):
        return None
    return tuple(int(part) for part in text.split("."))


def msp_split(text):
    """Sendmail 8.12 and later submit through the MSP (submit.cf) and its own queue."""
    parsed = parse_version(text)
    return bool(parsed and parsed >= (8, 12))


def info(binary, cache, cache_dir=None):
    """
    ``binary``, ``installed``, ``provider`` (sendmail, postfix, exim, other, none), ``version``
    and ``msp_split``. What the file is and its version are kept in ``cache`` (a dict that
    outlives one call) and in ``cache_dir`` (the minion's cache dir: a job of a minion is a fresh
    process) for as long as the binary is the same file.
    """
    found = {"binary": binary, "installed": False, "provider": "none", "version": None}
    if os.path.exists(binary):
        found["installed"] = True
        found.update(_identify(binary, cache, cache_dir))
    found["msp_split"] = msp_split(found["version"])
    return found


def _identify(binary, cache, cache_dir):
    """``provider`` and ``version`` of the file ``binary`` names, from a cache if it is the same file."""
    real = os.path.realpath(binary)
    st = os.stat(real)
    key = f"{real} inode {st.st_ino} size {st.st_size} mtime {st.st_mtime_ns}"
    if key in cache:
        return cache[key]
    kept = files.read_cache(cache_dir, CACHE_NAME) or {}
    if kept.get("key") == key:
        identity = kept["identity"]
    else:
        provider = provider_of(binary)
        version = None if provider else probe(binary)
        identity = {"provider": provider or ("sendmail" if version else "other"), "version": version}
        files.write_cache(cache_dir, CACHE_NAME, {"key": key, "identity": identity})
    cache[key] = identity
    return identity
