"""A systemd test host leaves nothing behind: no container process, cgroup, mount or file."""

import pathlib
import subprocess
import tempfile

from tests.support.systemd_host import CGROUP_HIERARCHIES, RUN_TAG, SystemdHost


def test_a_destroyed_host_leaves_nothing_behind():
    work = tempfile.mkdtemp(prefix="smh-", dir="/tmp")
    name = f"smh-life-{RUN_TAG}"
    host = SystemdHost(name, work, "life.example.test")
    try:
        host.boot()
        assert host.run("hostname").stdout.strip() == "life.example.test"
        # Its own network: only loopback, and nothing of this machine's listens there.
        assert host.sh("ip -o link | cut -d: -f2").split() == ["lo"]
        nspawn = host.proc.pid
    finally:
        host.destroy()
    assert subprocess.run(["kill", "-0", str(nspawn)], capture_output=True, check=False).returncode
    assert not [path for path in CGROUP_HIERARCHIES if pathlib.Path(path, name).exists()]
    assert str(host.root) not in pathlib.Path("/proc/self/mounts").read_text()
    assert not host.dir.exists()
    pathlib.Path(work).rmdir()
