"""
Which Debian release and which sendmail the tests run on, read from the package database and
os-release (never from the module under test), so that no test holds a literal version: the same
checks hold on Debian 12's sendmail 8.17.1.9 and on Debian 13's 8.18.1.
"""

import pathlib
import subprocess


def _package_version(package):
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def _os_release():
    fields = {}
    for line in pathlib.Path("/etc/os-release").read_text().splitlines():
        key, _, value = line.partition("=")
        fields[key] = value.strip('"')
    return fields


# The Debian package's version (8.17.1.9-2+deb12u2) and the upstream version it carries (8.17.1.9).
PACKAGE_VERSION = _package_version("sendmail-bin")
SENDMAIL_VERSION = PACKAGE_VERSION.split(":")[-1].split("-")[0]
# What would give the version away in a banner or a header: the full version and its major.minor.
VERSION_FORMS = (SENDMAIL_VERSION, ".".join(SENDMAIL_VERSION.split(".")[:2]))
DEBIAN_RELEASE = f"debian{_os_release().get('VERSION_ID', 'unknown')}"
