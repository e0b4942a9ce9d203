"""A build killed (SIGKILL) between writing its temp file and renaming it into place."""

import json
import os
import signal
import subprocess
import time

from tests.support.saltcall import salt_call_argv
from tests.support.saltcall import write_minion_config as write_config


def salt_call(config_dir, *args):
    return salt_call_argv(*args, config_dir=config_dir)


def write_minion_config(config_dir, lookup):
    write_config(config_dir, sendmail={"lookup": lookup})


def test_killed_build_leaves_the_old_config_and_the_next_run_cleans_up(make_world):
    world = make_world()
    root = world.root
    old_cf = world.submit_cf.read_bytes()
    # A "sendmail" that signals it was reached, then hangs: the build is then past writing the
    # temp cf and before renaming it.
    marker = root / "validating"
    slow = root / "slow-sendmail"
    slow.write_text(f"#!/bin/sh\ntouch {marker}\nexec sleep 60\n")
    slow.chmod(0o755)
    config_dir = root / "salt"
    write_minion_config(config_dir, {**world.lookup, "sendmail_bin": str(slow)})
    proc = subprocess.Popen(
        salt_call(config_dir, "sendmail.build_cf", "msp", 'relay="[relay.example.test]"'),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the build never reached validation"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # The live file is untouched; the killed run's temp files are all that is left.
    assert world.submit_cf.read_bytes() == old_cf
    stray = [name for name in os.listdir(world.etc) if name.endswith(".tmp")]
    assert sorted(name[: len(".submit.xx")] for name in stray) == [".submit.cf", ".submit.mc"]
    assert not (world.etc / "submit.mc").exists()

    write_minion_config(config_dir, world.lookup)
    done = subprocess.run(
        salt_call(config_dir, "sendmail.build_cf", "msp", 'relay="[relay.example.test]"'),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["local"]["changed"] is True
    assert "D{MTAHost}[relay.example.test]" in world.submit_cf.read_text().splitlines()
    assert [name for name in os.listdir(world.etc) if name.endswith(".tmp")] == []
