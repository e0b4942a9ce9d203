"""
An MTA above its RefuseLA, for real: sendmail closes its sockets and titles itself "rejecting
connections on daemon MTA: load average: 64". It reads the load from /proc/loadavg, so the daemon
runs in a mount namespace of its own where that file says 64 (nothing else sees it).
"""

import os
import subprocess
import time

from tests.support.world import SENDMAIL

LOAD_64 = "64.00 64.00 64.00 3/300 4242\n"


def start_loaded_daemon(world, tmp_path):
    fake = tmp_path / "loadavg"
    fake.write_text(LOAD_64)
    os.chmod(tmp_path, 0o755)
    script = 'mount --make-rprivate / && mount --bind "$0" /proc/loadavg && exec "$@"'
    proc = subprocess.Popen(
        [
            "unshare",
            "--mount",
            "sh",
            "-c",
            script,
            str(fake),
            "setpriv",
            "--pdeathsig",
            "TERM",
            SENDMAIL,
            "-C",
            str(world.sendmail_cf),
            "-bD",
            "-ODaemonPortOptions=Name=MTA,Addr=0.0.0.0,Port=25",
            "-ORefuseLA=12",
            "-OQueueLA=8",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    world.daemons.append(proc)
    return proc


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := predicate()) is not None:
            return found
        time.sleep(0.2)
    return None


def test_a_relay_refusing_for_load_is_still_a_server_and_is_not_restarted(world, sendmail, tmp_path):
    start_loaded_daemon(world, tmp_path)

    def refusing_mta():
        status = sendmail.status()
        mtas = [d for d in status["daemons"] if d["kind"] == "mta" and d.get("refusing")]
        return (status, mtas[0]) if mtas else None

    found = wait_for(refusing_mta)
    assert found, f"sendmail never refused: {sendmail.status()['daemons']}"
    status, daemon = found
    assert "rejecting connections on daemon MTA: load average: 64" in daemon["title"]
    assert daemon["refusing"] == {"daemon": "MTA", "reason": "load average: 64"}
    # Its socket is closed for now: nothing listens, yet it is the relay.
    assert status["listeners"] == []
    assert status["held_listeners"][0]["address"] == "0.0.0.0"
    assert status["role"] == "server"
    assert "mta-refusing" in [finding["id"] for finding in status["findings"]]
    # The services step sees the MTA running: nothing to start or stop for a server (whose MSP
    # queue, here, cron runs).
    services = sendmail.services("server", msp_runner="cron", test=True)
    assert services["running"]["mta"] is True
    assert not [action for action in services["actions"] if action.startswith(("stop", "start"))]
