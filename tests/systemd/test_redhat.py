"""
Red Hat's sendmail units under a real systemd (tests/support/redhat.py reproduces the packaging on
the Debian root file system, grains saying os_family RedHat). sm-client.service is bound to
sendmail.service (BindTo=) and disabled with it (Also=), so the client role stops and disables both
and leaves the MSP queue to a root cron entry, which survives a reboot without bringing the MTA back.
"""

from pathlib import Path

import pytest

from tests.support.redhat import make_redhat
from tests.systemd.conftest import CLIENT_DOMAIN, RELAY, assert_converged, assert_delivered_after_outage

# A site's client: its relay, and the domain its mail comes from (root's too).
CLIENT = {"relay": RELAY, "msp_interval": "1m", "masquerade_as": CLIENT_DOMAIN}


def units(host):
    """(is-enabled, is-active) of sendmail.service and sm-client.service."""
    words = host.sh(
        "for unit in sendmail sm-client; do systemctl is-enabled $unit; systemctl is-active $unit; done",
        check=False,
    ).split()
    return {"sendmail": tuple(words[0:2]), "sm-client": tuple(words[2:4])}


START_LIMIT = Path("/etc/systemd/system/sendmail.service.d/start-limit.conf")


def hit_start_limit(host, unit):
    """
    Start ``unit`` until systemd refuses: one start per hour, the second one too many. Enabled
    first, as an operator fighting a crash loop would: a disabled unit that stops is unloaded,
    and its start count with it.
    """
    host.sh(
        f"systemctl enable {unit}; mkdir -p {START_LIMIT.parent}; "
        f"printf '[Unit]\\nStartLimitIntervalSec=1h\\nStartLimitBurst=1\\n' >{START_LIMIT}; "
        f"systemctl daemon-reload; systemctl start {unit}; systemctl stop {unit}; "
        f"! systemctl start {unit}"
    )
    said = host.sh(f"systemctl show -p Result --value {unit}; systemctl is-failed {unit}", check=False)
    assert said.split() == ["start-limit-hit", "failed"], said


def assert_client(host):
    report = host.salt_call("sendmail.status")
    assert report["role"] == "client"
    assert report["listeners"] == []
    assert report["daemons"] == []
    [runner] = report["queues"]["msp"]["runners"]
    assert runner["type"] == "cron"
    assert runner["command"].endswith("sendmail -Ac -q")
    assert report["queues"]["msp"]["directories"][0]["path"] == "/var/spool/clientmqueue"
    assert report["relay"]["msp"] == RELAY
    assert report["switches"]["redhat"]["DAEMON"] == "no"
    assert report["switches"]["redhat"]["units"] == {
        "sendmail.service": False,
        "sm-client.service": False,
    }
    assert report["findings"] == []
    assert units(host) == {"sendmail": ("disabled", "inactive"), "sm-client": ("disabled", "inactive")}


def assert_server(host):
    report = host.salt_call("sendmail.status")
    assert report["role"] == "server"
    assert ("0.0.0.0", 25) in [(entry["address"], entry["port"]) for entry in report["listeners"]]
    kinds = sorted(daemon["kind"] for daemon in report["daemons"])
    assert kinds == ["msp-queue-runner", "mta"]
    assert units(host) == {"sendmail": ("enabled", "active"), "sm-client": ("enabled", "active")}


# Red Hat's semantics are reproduced on Debian 12's root file system (docs, "Compatibility").
# On the 3006 line only when both run at once (the units' semantics are systemd's, not Salt's).
@pytest.mark.salt_line(3006)
@pytest.mark.parametrize("release", ["debian12"])
def test_redhat_client_server_client_across_reboots(make_systemd_host, relay):
    host = make_systemd_host(prepare=make_redhat)
    assert host.salt_call("grains.get", "os_family") == "RedHat"
    # The vendor default: both units enabled and running, the MTA on 127.0.0.1 only.
    assert units(host) == {"sendmail": ("enabled", "active"), "sm-client": ("enabled", "active")}
    assert host.salt_call("sendmail.status")["role"] == "local-only"

    client = host.state("sendmail.client", **CLIENT)
    assert client["result"] is True, client["comment"]
    assert "cron entry saltext-sendmail-msp-queue" in client["comment"]
    assert_client(host)
    assert_converged(host, "sendmail.client", **CLIENT)
    host.reboot()
    assert_client(host)
    assert_converged(host, "sendmail.client", **CLIENT)

    # Mail sent while the relay is down arrives once it is back.
    assert_delivered_after_outage(host, relay, wait=90)
    assert units(host)["sendmail"] == ("disabled", "inactive")

    # A crash loop left the MTA's unit at its start limit: systemd refuses every start until its
    # failed state is cleared. The server role clears it and starts it.
    hit_start_limit(host, "sendmail")
    server = host.state("sendmail.server", relay_domains=["example.com"])
    assert server["result"] is True, server["comment"]
    assert_server(host)
    host.sh(f"rm -r {START_LIMIT.parent}; systemctl daemon-reload")
    assert_converged(host, "sendmail.server", relay_domains=["example.com"])
    host.reboot()
    assert_server(host)
    assert_converged(host, "sendmail.server", relay_domains=["example.com"])

    back = host.state("sendmail.client", **CLIENT)
    assert back["result"] is True, back["comment"]
    assert_client(host)
    host.reboot()
    assert_client(host)
    assert_converged(host, "sendmail.client", **CLIENT)
    # ExecStartPre=-/etc/mail/make never had to rebuild a cf: each .mc was older than its cf.
    rebuilt = host.sh(
        "cat /var/log/mail-make.log; ls -l --time-style=full-iso /etc/mail/*.mc /etc/mail/*.cf",
        check=False,
    )
    assert not host.path("/var/log/mail-make.log").exists(), rebuilt
