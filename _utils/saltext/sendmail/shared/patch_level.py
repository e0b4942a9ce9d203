"""
How patched this host's sendmail is: the package that provides it with its version and the newer
one the package manager's cached lists offer, and the known advisories that apply to the upstream
version, split by whether the distribution's own changelog says it fixed them.

The package manager is asked through Salt's ``pkg`` module (``pkg.version``,
``pkg.latest_version``), and never on a status's path: ``apt-cache policy`` alone takes ~0.36 s,
and a fleet-wide status would have every minion ask at the same moment whenever the lists change
(daily, with unattended upgrades). :func:`ask` keeps the answer in a small file in the minion's
cache dir and asks again only when the package database or the cached lists changed (their
mtimes) or when forced; :func:`facts` reads that file, saying when it was asked and whether the
package database is still as it was then. The formula runs ``sendmail.patch_level`` from Salt's
scheduler with a splay, so each minion asks at its own moment.
"""

import gzip
import os
import re
import time

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
    ``ask_package(name)`` for :func:`ask` through Salt's ``pkg`` module (``salt``: the caller's Salt
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


def ask_salt(lookup, salt, cache_dir, refresh=False):
    """
    :func:`ask` through Salt's functions (``salt``): when the package database or lists changed,
    or always, after refreshing the lists, with ``refresh``.
    """
    return ask(lookup, asker(salt, refresh), salt["cmd.run_all"], cache_dir, force=refresh)


def _stamp(lookup):
    """What changes when a package is installed or the cached lists are refreshed."""
    stamp = {}
    for path in lookup.get("package_state") or ():
        try:
            stamp[path] = os.stat(path).st_mtime_ns
        except OSError:
            stamp[path] = None
    return stamp


def ask(lookup, ask_package, run, cache_dir, force=False, now=None):
    """
    Ask the package manager (``ask_package(name)`` returns ``(version, candidate)``) when the
    package database or the cached lists changed since the last answer kept in ``cache_dir``, or
    there is none, or ``force``; keep the answer there. Returns whether it asked.
    """
    name = lookup.get("sendmail_package")
    if not name or not cache_dir:
        return False
    stamp = _stamp(lookup)
    cached = files.read_cache(cache_dir, CACHE_NAME)
    if not force and cached and cached.get("stamp") == stamp and cached.get("name") == name:
        return False
    version, candidate = ask_package(name)
    files.write_cache(
        cache_dir,
        CACHE_NAME,
        {
            "name": name,
            "stamp": stamp,
            "checked": int(now if now is not None else time.time()),
            "version": version,
            "candidate": candidate,
            "changelog": changelog_cves(lookup, name, run) if version else [],
        },
    )
    return True


def facts(lookup, upstream_version, cache_dir):
    """
    ``package`` (``name``, ``version``, ``candidate``: the newer version the lists offered, None
    when none; ``checked``: when the package manager was asked, None when never; ``current``:
    whether the package database and lists are still as they were then) and ``advisories``
    (``open`` and ``fixed`` CVE ids), from the last answer :func:`ask` kept. Never asks.
    """
    name = lookup.get("sendmail_package")
    if not name:
        return {"package": None, "advisories": None}
    cached = files.read_cache(cache_dir, CACHE_NAME)
    if not cached or cached.get("name") != name:
        package = {"name": name, "version": None, "candidate": None, "checked": None, "current": False}
        return {"package": package, "advisories": None}
    package = {
        "name": name,
        "version": cached["version"],
        "candidate": cached["candidate"],
        "checked": cached.get("checked"),
        "current": cached.get("stamp") == _stamp(lookup),
    }
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


def cached_package(cache_dir):
    """The last answer :func:`ask` kept (for the grain): name, version, candidate, checked; or None."""
    cached = files.read_cache(cache_dir, CACHE_NAME)
    if not cached:
        return None
    return {key: cached.get(key) for key in ("name", "version", "candidate", "checked")}


def for_salt(lookup, salt, context, opts, refresh=False):
    """``sendmail.patch_level``: ask (``refresh``: the lists first), then :func:`facts`."""
    cache_dir = opts.get("cachedir")
    ask_salt(lookup, salt, cache_dir, refresh=bool(refresh))
    upstream = binary.info(lookup["sendmail_bin"], context, cache_dir)["version"]
    return facts(lookup, upstream, cache_dir)
