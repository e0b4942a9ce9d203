"""
A real salt-minion inside a systemd test host, started by the host's own systemd at boot (a unit
like Salt's own: KillMode=process, so a job's children outlive a restart), talking to a real
salt-master on the test network. It runs the host's Salt (``SystemdHost.salt_bin``) with its own
root_dir in the host's disk.
"""

import json

MINION_DIR = "/root/salt-minion"
UNIT = """\
[Unit]
Description=The test's salt-minion
After=network.target

[Service]
ExecStart={salt_minion} -c {minion_dir} -l quiet
KillMode=process
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def add_minion(host, minion_id, master, grains=None):
    """
    Configure and enable a salt-minion in ``host`` (before its boot); it starts at boot and
    talks to ``master`` (a pytest-salt-factories master: its ports are its own, not 4505/4506).
    """
    config = {
        "id": minion_id,
        "master": master.config["interface"],
        "master_port": master.config["ret_port"],
        "publish_port": master.config["publish_port"],
        "root_dir": MINION_DIR,
        "grains": grains or {},
        "acceptance_wait_time": 1,
        "random_reauth_delay": 0,
        "log_level_logfile": "info",
    }
    host.write(f"{MINION_DIR}/minion", json.dumps(config))  # JSON is YAML
    salt_minion = host.salt_bin / "salt-minion"
    host.write(
        "/etc/systemd/system/salt-minion.service",
        UNIT.format(salt_minion=salt_minion, minion_dir=MINION_DIR),
    )
    wants = host.path("/etc/systemd/system/multi-user.target.wants")
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "salt-minion.service").symlink_to("/etc/systemd/system/salt-minion.service")


def minion_log(host):
    path = host.path(f"{MINION_DIR}/var/log/salt/minion")
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"
