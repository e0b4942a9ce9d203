"""
salt-call --local sendmail.status on a private Debian host (scripts/host-run): Debian's real files at
their real paths, the daemon started by Debian's own init script, its own network and hostname.
"""

import json
import shlex
import subprocess

import pytest

from tests.support.release import SENDMAIL_VERSION
from tests.support.saltcall import REPO, salt_call_argv


def run_in_host(root, hostname, script):
    return subprocess.run(
        [str(REPO / "scripts" / "host-run"), str(root), hostname, "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def salt_call(*args):
    return shlex.join(salt_call_argv(*args))


@pytest.fixture
def host_root(tmp_path):
    return tmp_path / "debian-host"


def test_status_on_a_debian_host_started_by_its_init_script(host_root):
    script = f"""
    set -e
    /etc/init.d/sendmail start >/dev/null
    printf 'Subject: t\\n\\nhi\\n' | sendmail -Ac -odq root@example.com
    {salt_call("sendmail.status")}
    """
    proc = run_in_host(host_root, "box.example.test", script)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["local"]
    assert report["hostname"] == "box.example.test"
    assert report["version"] == SENDMAIL_VERSION
    assert report["role"] == "local-only"
    assert [(entry["address"], entry["port"]) for entry in report["listeners"]] == [
        ("127.0.0.1", 25),
        ("127.0.0.1", 587),
    ]
    [mta] = [daemon for daemon in report["daemons"] if daemon["kind"] == "mta"]
    # Debian's sendmail.conf QUEUE_INTERVAL="10m", read from the pid file's command line.
    assert mta["interval"] == 600
    assert report["queues"]["msp"]["count"] == 1
    assert report["queues"]["msp"]["runners"][0]["source"] == "/etc/cron.d/sendmail"
    assert report["switches"]["debian"]["DAEMON_MODE"] == "Daemon"
    assert report["relay"]["msp"] == "[127.0.0.1]"
    # The MSP runner that the init script started may already have tried the message (example.com
    # has no DNS here): then, and only then, it is a deferred message with sendmail's reason.
    deferred = [f for f in report["findings"] if f["id"] == "queue-deferred"]
    assert [f for f in report["findings"] if f not in deferred] == []
    assert all("MSP queue; the oldest because: " in f["message"] for f in deferred)
    assert bool(deferred) == (report["queues"]["msp"]["oldest_error"] is not None)


def test_unqualified_hostname_is_a_finding(host_root):
    # The host's /etc/hosts gives no dotted name for "bare": sendmail would sleep 60 s at every run.
    script = f"""
    set -e
    hostname bare
    printf '127.0.0.1 localhost\\n127.0.1.1 bare\\n' >/etc/hosts
    {salt_call("sendmail.status")}
    """
    proc = run_in_host(host_root, "box.example.test", script)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["local"]
    assert report["hostname_qualified"] is False
    assert "hostname-unqualified" in {finding["id"] for finding in report["findings"]}
    # The version probe reads the first line and stops: no 60-second wait.
    assert report["version"] == SENDMAIL_VERSION
