"""
Test hosts with a real systemd as PID 1: the cached Debian 12 root file system (scripts/rootfs.sh),
booted by systemd-nspawn on an overlay of its own, so hosts never share state and the cache stays
pristine. Each host has its own network namespace (only loopback, or a veth on the test network),
UTS, PID and mount namespaces; the checkout and the test virtualenv are bound read-only at their own
paths, so salt-call runs inside with this repository's modules. Everything a host made (container,
cgroups, overlay mount, files) is removed by :meth:`SystemdHost.destroy`, even after a failure.

Measured traps (FIELD-NOTES, "Hosts with a real systemd"): nspawn's --keep-unit needs a cgroup of
its own per container; machinectl and systemd-run -M do not work here; commands run inside with
``nsenter -t <PID 1> -a``; nspawn mounts a tmpfs on /tmp inside.
"""

import contextlib
import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

import salt.version

REPO = pathlib.Path(__file__).resolve().parents[2]
# The root file systems scripts/rootfs.sh builds, by release; the tests name the release they ran on.
# debian12-postfix and debian12-exim: Debian 12 whose MTA is not sendmail (its .debs in apt's cache).
ROOTFS = {
    release: REPO / ".cache" / "rootfs" / release
    for release in ("debian12", "debian13", "debian12-postfix", "debian12-exim")
}
DEFAULT_RELEASE = "debian12"
# Salt inside a host: the tests' own virtualenv, bound in (Debian 12: the same Python 3.11), or
# one built in the root file system for its own Python (Debian 13's 3.13: Salt 3008.4 only).
SALT_VENVS = {"debian13": "/opt/salt"}
# The releases a suite's systemd tests boot: Debian 13 on the Salt line its root file system holds
# (3008), so that CI runs it once (docs, "Tests": what runs where).
RELEASES = ["debian12"] + (["debian13"] if salt.version.__saltstack_version__.major >= 3008 else [])
CGROUP_HIERARCHIES = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
# Cgroups are this machine's, not the test host's: suites running at once (scripts/test.sh runs
# one per Salt line) name their hosts apart with this.
RUN_TAG = os.environ.get("SM_TEST_RUN") or str(os.getpid() % 1000)
# Where salt-call keeps its config, cache and logs inside a host (not /tmp: a tmpfs per boot).
SALT_DIR = "/root/salt-call"


def _read_only_binds(release):
    """
    The checkout at its path here; for a release without Salt of its own, the test venv and the
    Python it was made from too.
    """
    if release in SALT_VENVS:
        return [f"--bind-ro={REPO}"]
    venv = pathlib.Path(sys.prefix)
    home = next(
        (
            line.split("=", 1)[1].strip()
            for line in (venv / "pyvenv.cfg").read_text().splitlines()
            if line.startswith("home")
        ),
        "/usr/bin",
    )
    base = pathlib.Path(home).resolve().parent
    binds = [REPO, venv]
    if not str(base).startswith("/usr"):
        binds.append(base)  # e.g. a pyenv build: the container has no copy of it
    return [f"--bind-ro={path}" for path in dict.fromkeys(binds)]


def _rmdir_tree(path):
    """Remove an empty cgroup directory tree, deepest first (cgroupfs allows only rmdir)."""
    if not os.path.isdir(path):
        return
    for root, dirs, _ in os.walk(path, topdown=False):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(root, name))
    with contextlib.suppress(OSError):
        os.rmdir(path)


class SystemdHost:
    """One container: ``boot``, ``run`` commands in it, ``poweroff``/``reboot``, ``destroy``."""

    def __init__(self, name, work_dir, hostname, netns=None, hosts_text=None, release=DEFAULT_RELEASE):
        self.name, self.hostname, self.netns, self.release = name, hostname, netns, release
        self.dir = pathlib.Path(work_dir) / name
        self.upper, self.work, self.root = self.dir / "upper", self.dir / "work", self.dir / "root"
        self.proc = None
        self.pid1 = None
        # Where salt-call and salt-minion are, inside the host.
        self.salt_bin = pathlib.Path(SALT_VENVS.get(release) or sys.prefix, "bin")
        for path in (self.upper, self.work, self.root):
            path.mkdir(parents=True)
        subprocess.run(
            [
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                f"lowerdir={ROOTFS[release]},upperdir={self.upper},workdir={self.work}",
                str(self.root),
            ],
            check=True,
            capture_output=True,
        )
        self.write("/etc/hostname", f"{hostname}\n")
        short = hostname.split(".")[0]
        self.write("/etc/hosts", hosts_text or f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname} {short}\n")
        self.configure_salt()

    def configure_salt(self, **options):
        """salt-call's minion config inside the host: its own root_dir, plus ``options``."""
        # The shared package from the checkout, as `salt-call -m` needs it (docs, "Install").
        config = {
            "root_dir": SALT_DIR,
            "file_client": "local",
            "utils_dirs": [str(REPO / "_utils")],
            **options,
        }
        self.write(f"{SALT_DIR}/minion", json.dumps(config))  # JSON is YAML

    def path(self, path):
        """A path inside the host, seen from the test process (through the overlay)."""
        return self.root / str(path).lstrip("/")

    def write(self, path, text, mode=0o644):
        target = self.path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)

    def boot(self, timeout=60):
        """Start the container and wait until systemd says the system is running."""
        for hierarchy in CGROUP_HIERARCHIES:
            os.makedirs(f"{hierarchy}/{self.name}", exist_ok=True)
        network = (
            [f"--network-namespace-path=/run/netns/{self.netns}"]
            if self.netns
            else ["--private-network"]
        )
        nspawn = [
            "systemd-nspawn",
            "-D",
            str(self.root),
            "-M",
            self.name,
            "--boot",
            "--register=no",
            "--keep-unit",
            "--console=pipe",
            *network,
            *_read_only_binds(self.release),
        ]
        # The launching shell moves into the container's own cgroups first (see the module doc);
        # pdeathsig ends the container (nspawn powers it off) if pytest dies.
        enter = " ".join(
            f"echo $$ >{hierarchy}/{self.name}/cgroup.procs;" for hierarchy in CGROUP_HIERARCHIES
        )
        self.proc = subprocess.Popen(  # noqa: S602 (fixed text, no value from outside)
            f"{enter} exec setpriv --pdeathsig TERM {shlex.join(nspawn)}",
            shell=True,
            stdin=subprocess.DEVNULL,
            stdout=self.dir.joinpath("console.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while self.pid1 is None and time.monotonic() < deadline:
            children = subprocess.run(
                ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
            )
            for pid in children.stdout.split():
                with contextlib.suppress(OSError):
                    if pathlib.Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                        self.pid1 = int(pid)
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} did not boot: {self.console()[-2000:]}")
            time.sleep(0.05)
        # Until PID 1 has its bus socket, systemctl answers nothing at all: ask again.
        state = ""
        while state not in ("running", "degraded") and time.monotonic() < deadline:
            left = max(deadline - time.monotonic(), 1)
            state = self.run(
                "systemctl", "is-system-running", "--wait", check=False, timeout=left
            ).stdout.strip()
            if not state:
                time.sleep(0.1)
        if state not in ("running", "degraded"):
            raise RuntimeError(f"{self.name} is {state!r} after {timeout} s: {self.console()[-2000:]}")

    def console(self):
        return self.dir.joinpath("console.log").read_text(errors="replace")

    def run(self, *argv, check=True, input_text=None, timeout=120):
        """Run a command inside the host (all its namespaces); returns the CompletedProcess."""
        proc = subprocess.run(
            ["nsenter", "-t", str(self.pid1), "-a", *argv],
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode:
            raise AssertionError(
                f"{argv} failed in {self.name} ({proc.returncode}): {proc.stderr[-3000:]}"
            )
        return proc

    def sh(self, script, **kwargs):
        return self.run("sh", "-c", script, **kwargs).stdout

    def salt_call(self, *args, states=False, check=True):
        """``salt-call --local`` inside the host with this repository's modules; the JSON result."""
        argv = [
            str(self.salt_bin / "salt-call"),
            "--local",
            "-c",
            SALT_DIR,
            "-m",
            str(REPO / "_modules"),
            "--out=json",
        ]
        if states:
            argv.append(f"--states-dir={REPO / '_states'}")
        proc = self.run(*argv, *args, check=False)
        if check and proc.returncode not in (0, 2):  # 2: a state that failed, reported in the JSON
            raise AssertionError(f"salt-call {args} failed in {self.name}: {proc.stderr[-3000:]}")
        return json.loads(proc.stdout)["local"]

    def state(self, function, test=False, **kwargs):
        """One state (``sendmail.client``...) applied inside the host: its result dict."""
        args = [f"{key}={json.dumps(value)}" for key, value in kwargs.items()]
        if test:
            args.append("test=True")
        [ret] = self.salt_call("state.single", function, "name=sendmail", *args, states=True).values()
        return ret

    def poweroff(self, timeout=60):
        """Shut the container down as an operator would (systemctl poweroff) and wait for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            self.run("systemctl", "poweroff", check=False, timeout=10)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.pid1 = None
        for hierarchy in CGROUP_HIERARCHIES:
            _rmdir_tree(f"{hierarchy}/{self.name}")

    def reboot(self):
        """Halt, then boot again on the same disk (the overlay keeps what the host wrote)."""
        self.poweroff()
        self.boot()

    def destroy(self):
        self.poweroff()
        subprocess.run(["umount", str(self.root)], check=False, capture_output=True)
        subprocess.run(["rm", "-rf", str(self.dir)], check=False)
