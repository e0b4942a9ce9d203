"""
How patched this host's sendmail is: the package that provides it with its version and the newer
one the package manager's cached lists offer, and the known advisories that apply to the upstream
version, split by whether the distribution's own changelog says it fixed them.

The package manager is asked through Salt's ``pkg`` module (``pkg.version``,
``pkg.latest_version`` without a refresh). ``apt-cache policy`` alone takes ~0.36 s here, so the
answer is kept in a small file in the minion's cache dir and asked again only when the package
database or the cached lists change (their mtimes), or when ``refresh`` is asked for.
"""

import gzip
import json
import os
import re

from . import binary, files

# Known sendmail advisories: what each is, the upstream release that fixed it (every earlier
# release is affected) and where that is written. Kept small on purpose: these are the
# remotely reachable ones of the last two decades. Add a row per new advisory, with its source.
ADVISORIES = (
    {
        "id": "CVE-2023-51765",
        "fixed_in": "8.18.1",
        "summary": "SMTP smuggling: a message's end accepted as <LF>.<CR><LF> lets a sender inject "
        "a second message with a spoofed MAIL FROM",
        "source": "sendmail RELEASE_NOTES 8.18.1 (2024/01/31); https://www.cve.org/CVERecord?id=CVE-2023-51765",
    },
    {
        "id": "CVE-2014-3956",
        "fixed_in": "8.14.9",
        "summary": "the SMTP connection's file descriptors stay open in the programs sendmail runs",
        "source": "sendmail RELEASE_NOTES 8.14.9; https://www.cve.org/CVERecord?id=CVE-2014-3956",
    },
    {
        "id": "CVE-2009-4565",
        "fixed_in": "8.14.4",
        "summary": "a NUL in a certificate's Common Name passes STARTTLS verification for another host",
        "source": "sendmail RELEASE_NOTES 8.14.4; https://www.cve.org/CVERecord?id=CVE-2009-4565",
    },
    {
        "id": "CVE-2006-0058",
        "fixed_in": "8.13.6",
        "summary": "a race in signal handling lets a remote attacker run code as root",
        "source": "sendmail RELEASE_NOTES 8.13.6; https://www.cve.org/CVERecord?id=CVE-2006-0058",
    },
    {
        "id": "CVE-2003-0694",
        "fixed_in": "8.12.10",
        "summary": "a buffer overflow in prescan() lets a remote attacker run code as root",
        "source": "sendmail RELEASE_NOTES 8.12.10; https://www.cve.org/CVERecord?id=CVE-2003-0694",
    },
)
_CVE_RE = re.compile(rb"CVE-\d{4}-\d{4,}")
CACHE_NAME = "sendmail-patch-level.json"


def affecting(upstream_version):
    """The advisories whose fix came after ``upstream_version`` (all of them when it is unknown)."""
    version = binary.parse_version(upstream_version)
    return [
        row for row in ADVISORIES if version is None or version < binary.parse_version(row["fixed_in"])
    ]


def cves_named(text):
    """The CVE ids a changelog names (bytes or text)."""
    data = text.encode() if isinstance(text, str) else text or b""
    return sorted({match.decode() for match in _CVE_RE.findall(data)})


def changelog_cves(lookup, package, run):
    """
    The CVE ids the distribution says its package fixed: Debian's changelog.Debian.gz, or Red
    Hat's ``rpm -q --changelog``. Empty when there is no changelog to read.
    """
    source = lookup.get("package_changelog")
    if not source or not package:
        return []
    if source == "rpm":
        ret = run(
            ["rpm", "-q", "--changelog", package],
            python_shell=False,
            ignore_retcode=True,
            output_loglevel="quiet",
            timeout=30,
        )
        return cves_named(ret["stdout"]) if ret["retcode"] == 0 else []
    try:
        with gzip.open(source.format(package=package), "rb") as handle:
            return cves_named(handle.read())
    except OSError:
        return []


def asker(salt, refresh=False):
    """
    ``ask(name)`` for :func:`facts` through Salt's ``pkg`` module (``salt``: the caller's Salt
    functions): the installed version and the newer one the lists offer (or None); ``refresh``
    refreshes the lists first (network).
    """

    def ask(name):
        if "pkg.version" not in salt:
            return None, None
        version = salt["pkg.version"](name) or None
        candidate = salt["pkg.latest_version"](name, refresh=refresh) or None
        return version, (candidate if candidate != version else None)

    return ask


def _stamp(lookup):
    """What changes when a package is installed or the cached lists are refreshed."""
    stamp = {}
    for path in lookup.get("package_state") or ():
        try:
            stamp[path] = os.stat(path).st_mtime_ns
        except OSError:
            stamp[path] = None
    return stamp


def facts(lookup, upstream_version, ask, run, cache_dir, refresh=False):
    """
    ``package`` (``name``, ``version``, ``candidate``: the newer version the cached lists offer,
    None when there is none) and ``advisories`` (``open`` and ``fixed`` CVE ids). ``ask(name)``
    returns ``(version, candidate)`` from the package manager; what it said is kept in
    ``cache_dir`` until the package database or the lists change.
    """
    name = lookup.get("sendmail_package")
    if not name:
        return {"package": None, "advisories": None}
    cache_path = os.path.join(cache_dir, CACHE_NAME) if cache_dir else None
    stamp = _stamp(lookup)
    cached = _read_cache(cache_path)
    if refresh or not cached or cached.get("stamp") != stamp or cached.get("name") != name:
        version, candidate = ask(name)
        cached = {
            "name": name,
            "stamp": stamp,
            "version": version,
            "candidate": candidate,
            "changelog": changelog_cves(lookup, name, run) if version else [],
        }
        if cache_path:
            _write_cache(cache_path, cached)
    package = {"name": name, "version": cached["version"], "candidate": cached["candidate"]}
    if not cached["version"]:
        # The package manager does not know this package (sendmail installed another way): what
        # it fixed cannot be read, so nothing is said of the advisories.
        return {"package": package, "advisories": None}
    named = set(cached["changelog"])
    applying = [row["id"] for row in affecting(upstream_version)]
    return {
        "package": package,
        "advisories": {
            "open": [cve for cve in applying if cve not in named],
            "fixed": [cve for cve in applying if cve in named],
        },
    }


def _read_cache(path):
    text = files.read_text(path) if path else None
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _write_cache(path, data):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        files.replace(path, json.dumps(data))
    except OSError:
        pass  # a cache that cannot be written is asked again next time: nothing is lost


def cached_package(cache_dir):
    """What the last status saw (for the grain, which cannot ask the package manager): or None."""
    cached = _read_cache(os.path.join(cache_dir, CACHE_NAME)) if cache_dir else None
    if not cached:
        return None
    return {"name": cached["name"], "version": cached["version"], "candidate": cached["candidate"]}
