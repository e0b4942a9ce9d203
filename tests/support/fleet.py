"""
A real salt-master and real salt-minions (pytest-salt-factories), each minion a separate Debian
sendmail host: scripts/host-run puts it in its own network namespace (linked to the test network on
198.51.100.0/24), mount, UTS and PID namespaces, with private copies of /etc/mail, the queues and
the crontabs. The master serves the formula (salt/) and _modules/_states from this repository.
"""

import pathlib
import subprocess

import attr
from saltfactories.daemons.minion import SaltMinion

from tests.support.netns import NETWORK

REPO = pathlib.Path(__file__).resolve().parents[2]
HOST_RUN = REPO / "scripts" / "host-run"
HOST_EXEC = REPO / "scripts" / "host-exec"
MASTER_ADDRESS = f"{NETWORK}.1"


@attr.s(kw_only=True, slots=True)
class HostMinion(SaltMinion):
    """A salt-minion started inside its own sendmail host (``scripts/host-run --netns``)."""

    host_root = attr.ib()
    netns = attr.ib()
    hostname = attr.ib()

    def cmdline(self, *args):
        launcher = [str(HOST_RUN), "--netns", self.netns, str(self.host_root), self.hostname]
        return [*launcher, *super().cmdline(*args)]

    def host(self, *argv, check=True, input_text=None):
        """Run a command inside this minion's host, next to its salt-minion."""
        proc = subprocess.run(
            [str(HOST_EXEC), str(self.host_root), *argv],
            input=input_text,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and proc.returncode:
            raise AssertionError(f"{argv} failed in {self.hostname}: {proc.stderr}")
        return proc.stdout


def prepare_host(root, hostname, hosts_text):
    """Make a host's private copies (host-run does, on first use) and give it the fleet's names."""
    subprocess.run([str(HOST_RUN), str(root), hostname, "true"], check=True, timeout=60)
    (pathlib.Path(root) / "etc" / "hosts").write_text(hosts_text)


def host_minion(master, work, minion_id, netns, hosts_text, overrides):
    """A salt-minion of ``master`` in its own sendmail host under ``work`` (not started)."""
    root, hostname = f"{work}/{minion_id}", f"{minion_id}.example.test"
    prepare_host(root, hostname, hosts_text)
    return master.salt_minion_daemon(
        minion_id,
        overrides=overrides,
        factory_class=HostMinion,
        host_root=root,
        netns=netns,
        hostname=hostname,
    )


def minion_overrides(site):
    """The minion's config: the master on the test network, logs and events sent back there."""
    return {
        "master": MASTER_ADDRESS,
        "grains": {"site": site},
        # pytest-salt-factories' 0.05 s upsets beacon timing (an interval of 2 s fired every ~40 s).
        "loop_interval": 1,
        "pytest-minion": {
            "log": {"host": MASTER_ADDRESS},
            "returner_address": {"host": MASTER_ADDRESS},
        },
    }


def formula_roots(directory):
    """
    The master's file_roots: the SLS tree (salt/: the formula and the reactor) and the _modules,
    _utils, _states, _grains, _beacons, _runners and _output directories, as a real master serves a
    checkout of this repository (without the rest of it: .venv, tests).
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("sendmail", "reactor"):
        (directory / name).symlink_to(REPO / "salt" / name)
    for name in ("_modules", "_utils", "_states", "_grains", "_beacons", "_runners", "_output"):
        (directory / name).symlink_to(REPO / name)
    (directory / "top.sls").write_text("base:\n  '*':\n    - sendmail\n")
    return directory
