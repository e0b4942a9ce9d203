"""
A local apt repository for the systemd test hosts: Debian's own sendmail packages (the .debs
debootstrap left in the root file system's apt cache) rebuilt with dpkg-deb under a higher version,
so that a host's package manager really offers an upgrade; or a broken one, whose preinst fails.
Published inside a host as a ``file:`` source (``deb [trusted=yes] file:/repo ./``), the only
source the host has: apt-get update and install never leave the host.
"""

import hashlib
import pathlib
import re
import subprocess

from tests.support.systemd_host import ROOTFS

# The packages built from Debian's sendmail source that a host has: they depend on each other
# at the exact version, so they are rebuilt together.
PACKAGES = ("sendmail-base", "sendmail-bin", "sendmail-cf")
BROKEN_PREINST = "#!/bin/sh\necho 'preinst: this package is broken on purpose' >&2\nexit 1\n"


def _original(release, package):
    [deb] = sorted((ROOTFS[release] / "var/cache/apt/archives").glob(f"{package}_*.deb"))
    return deb


def _field(deb, name):
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def installed_version(release, package="sendmail-bin"):
    """The version of ``package`` in the root file system's apt cache (what the hosts run)."""
    return _field(_original(release, package), "Version")


def rebuild(release, suffix, work, broken=False):
    """
    Debian's sendmail packages with ``suffix`` appended to their version (``+patch1`` sorts after
    the original) in ``work``; with ``broken``, sendmail-bin's preinst exits 1. Returns the .debs
    and the new version.
    """
    work = pathlib.Path(work)
    old = installed_version(release)
    new = f"{old}{suffix}"
    debs = []
    for package in PACKAGES:
        tree = work / f"{package}-{new}"
        subprocess.run(["dpkg-deb", "-R", str(_original(release, package)), str(tree)], check=True)
        control = tree / "DEBIAN" / "control"
        text = control.read_text().replace(f"(= {old})", f"(= {new})")
        control.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {new}", text))
        if broken and package == "sendmail-bin":
            preinst = tree / "DEBIAN" / "preinst"
            preinst.write_text(BROKEN_PREINST)
            preinst.chmod(0o755)
        deb = work / f"{package}_{new}.deb"
        subprocess.run(
            ["dpkg-deb", "-Zgzip", "-b", str(tree), str(deb)], check=True, capture_output=True
        )
        subprocess.run(["rm", "-rf", str(tree)], check=True)
        debs.append(deb)
    return debs, new


def _stanza(deb):
    control = subprocess.run(
        ["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True
    ).stdout.rstrip("\n")
    data = deb.read_bytes()
    return (
        f"{control}\nFilename: ./{deb.name}\nSize: {len(data)}\n"
        f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
    )


def publish(host, debs):
    """
    ``debs`` become the host's only apt source, and its lists are refreshed (as a site's nightly
    ``apt-get update`` would): its package manager now offers them.
    """
    repo = host.path("/repo")
    repo.mkdir(exist_ok=True)
    for deb in debs:
        (repo / deb.name).write_bytes(deb.read_bytes())
    stanzas = [_stanza(deb) for deb in sorted(repo.glob("*.deb"))]
    (repo / "Packages").write_text("\n".join(stanzas))
    host.write("/etc/apt/sources.list", "deb [trusted=yes] file:/repo ./\n")
    host.run("apt-get", "update", "-q")
