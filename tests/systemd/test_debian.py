"""
Debian under a real systemd. Debian 12: sendmail.service is generated from Debian's init script,
and `systemctl enable/disable` go through update-rc.d. Debian 13: a native sendmail.service
(Type=forking, running the init script), disabled after install. The roles from the vendor
default, with salt-call inside the host, and a reboot in the middle.
"""

import json

import pytest

from tests.support.snapshot import snapshot_command
from tests.support.systemd_host import RELEASES, REPO
from tests.systemd.conftest import (
    CLIENT_DOMAIN,
    RELAY,
    assert_converged,
    assert_delivered_after_outage,
    assert_root_mail_leaves_as_the_domain,
)

# A site's client: its relay, and the domain its mail comes from (root's too).
CLIENT = {"relay": RELAY, "msp_interval": "10s", "masquerade_as": CLIENT_DOMAIN}


def snapshot(host):
    return json.loads(host.sh(snapshot_command(python=host.salt_bin / "python")))


def facts(host):
    """What an operator would check: status, and what systemd says of sendmail.service."""
    host.salt_call("sendmail.patch_level")  # what the formula's scheduled job keeps current
    report = host.salt_call("sendmail.status")
    unit = host.sh("systemctl is-enabled sendmail; systemctl is-active sendmail", check=False).split()
    return report, unit


def assert_client(host):
    report, unit = facts(host)
    assert report["role"] == "client"
    assert report["listeners"] == []
    assert [daemon["kind"] for daemon in report["daemons"]] == ["msp-queue-runner"]
    assert report["queues"]["msp"]["runners"][0]["type"] == "daemon"
    assert report["relay"]["msp"] == RELAY
    assert report["findings"] == []
    # The service stays enabled and running: on Debian it runs the MSP queue runner.
    assert unit == ["enabled", "active"]


# What each release runs after a plain install. Debian 12: an MTA on 127.0.0.1 (25 and 587),
# started at boot by the unit systemd generates from the init script. Debian 13: a native
# sendmail.service that the package leaves disabled, so nothing runs, and the MSP hands mail to
# an MTA that is not there.
VENDOR_DEFAULT = {
    "debian12": {"role": "local-only", "unit": ["enabled", "active"], "findings": []},
    "debian13": {"role": "off", "unit": ["disabled", "inactive"], "findings": ["msp-to-dead-mta"]},
}
# What follows from a dead local MTA when something mailed at boot (seen once on Debian 13: a
# message deferred in the MSP queue, "Connection refused by [127.0.0.1]"): the same fault, said twice.
FOLLOWS = {"msp-to-dead-mta": {"relay-unreachable"}}


# Debian 12's reboot on the 3008 line only, when both lines run at once (the 3006 line has the
# rolling patch's three hosts instead): what a reboot keeps is the units' and files', not Salt's.
@pytest.mark.parametrize(
    "release",
    [
        pytest.param(name, marks=pytest.mark.salt_line(3008) if name == "debian12" else ())
        for name in RELEASES
    ],
)
def test_client_server_client_across_a_reboot(make_systemd_host, relay, release):
    host = make_systemd_host()
    report, unit = facts(host)
    vendor = VENDOR_DEFAULT[release]
    assert report["role"] == vendor["role"]
    assert unit == vendor["unit"]
    high = [f["id"] for f in report["findings"] if f["severity"] == "high"]
    follows = set().union(*(FOLLOWS.get(name, set()) for name in vendor["findings"]))
    assert [name for name in high if name not in follows] == vendor["findings"], report["findings"]
    assert host.salt_call("grains.get", "init") == "systemd"
    # The version as this release's sendmail says it (8.17.1.9, 8.18.1) and as dpkg has it.
    package = host.sh("dpkg-query -W -f '${Version}' sendmail-bin")
    assert report["version"] == package.split(":")[-1].split("-")[0]
    assert report["package"]["version"] == package

    before = snapshot(host)
    predicted = host.state("sendmail.client", test=True, **CLIENT)
    assert predicted["result"] is None
    assert predicted["changes"]
    assert snapshot(host) == before

    client = host.state("sendmail.client", **CLIENT)
    assert client["result"] is True, client["comment"]
    assert_client(host)
    assert_converged(host, "sendmail.client", **CLIENT)

    host.reboot()
    assert_client(host)
    assert_converged(host, "sendmail.client", **CLIENT)

    # Mail sent while the relay is down arrives once it is back.
    assert_delivered_after_outage(host, relay, wait=60)
    # root's mail (cron's) leaves as the site's domain.
    assert_root_mail_leaves_as_the_domain(host, relay)

    server = host.state("sendmail.server", relay_domains=["example.com"])
    assert server["result"] is True, server["comment"]
    report, unit = facts(host)
    assert report["role"] == "server"
    assert ("0.0.0.0", 25) in [(entry["address"], entry["port"]) for entry in report["listeners"]]
    assert unit == ["enabled", "active"]
    host.reboot()
    report, _ = facts(host)
    assert report["role"] == "server"
    assert_converged(host, "sendmail.server", relay_domains=["example.com"])

    back = host.state("sendmail.client", **CLIENT)
    assert back["result"] is True, back["comment"]
    assert_client(host)
    host.reboot()
    assert_client(host)
    assert_converged(host, "sendmail.client", **CLIENT)

    # The grain and the one judgement (what the report shows) read this release's sendmail too.
    site = {"relays": [RELAY], "masquerade_as": CLIENT_DOMAIN}
    host.configure_salt(
        module_dirs=[str(REPO / "_modules")],
        grains_dirs=[str(REPO / "_grains")],
        sendmail={"role": "client", "site": "s", "sites": {"s": site}},
    )
    grain = host.salt_call("grains.get", "sendmail")
    assert (grain["role"], grain["version"]) == ("client", report["version"]), grain
    judged = host.salt_call("sendmail.compliance")
    assert (judged["verdict"], judged["findings"]) == ("compliant", []), judged
