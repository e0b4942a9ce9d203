"""
A salt-syndic beside a lower salt-master (pytest-salt-factories starts the masters; its syndic
bundle cannot be used: its syndic subscribes to the lower master's publish port, below).

``salt.config.syndic_config`` reads the lower master's file and a minion file from one directory
and lets the minion file win. The syndic then subscribes to ``publish_port`` of that merge: unless
the minion file names the master of masters' publish port, it is the lower master's own, and the
syndic listens to its own master instead of the one above it ("Payload decryption failed even
after re-authenticating", then "'bytes' object has no attribute 'get'" on Salt 3006.29). A default
install works by coincidence (both masters on 4505); so must this one, on purpose.
"""

import contextlib
import pathlib
import subprocess
import sys
import time

import yaml

SALT_SYNDIC = pathlib.Path(sys.executable).parent / "salt-syndic"


@contextlib.contextmanager
def running_syndic(syndic_id, lower, top):
    """
    A salt-syndic ``syndic_id`` for the started master ``lower``, connected to the started master
    of masters ``top`` (which must auto-accept it); stopped on exit.
    """
    root = pathlib.Path(lower.config["root_dir"])
    conf_dir = pathlib.Path(lower.config["conf_file"]).parent
    settings = {
        "id": syndic_id,
        "root_dir": str(root),
        # The syndic's master is syndic_master (a minion's "master" is overwritten with it).
        "syndic_master": top.config["interface"],
        "syndic_master_port": top.config["ret_port"],
        "publish_port": top.config["publish_port"],
        "pki_dir": str(root / "syndic-pki"),
        "sock_dir": str(root / "syndic-sock"),
        "syndic_pidfile": str(root / "run" / "syndic.pid"),
        "syndic_log_file": str(root / "logs" / "syndic.log"),
        "log_level_logfile": "info",
        "user": lower.config["user"],
    }
    (conf_dir / "minion").write_text(yaml.safe_dump(settings))
    with open(root / "logs" / "syndic.out", "ab") as out:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(SALT_SYNDIC), "-c", str(conf_dir), "-l", "quiet"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process, timeout=30):
    """Stop a syndic (TERM, then KILL); its children go with its process group's end."""
    if process.poll() is None:
        process.terminate()
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
