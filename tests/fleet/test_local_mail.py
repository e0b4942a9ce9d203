"""
The mail a host sends most, followed for real on the fleet of conftest.py (after test_fleet.py and
test_fleet_view.py): cron's output on a client, whose cron mails it to root, reaches the alias's
mailbox on the relay; so does the relay's own root mail; a user's mail leaves as user@example.com
and another user of the domain is relayed on. A client of a site without masquerade_as gets the
local-mail-unrouted finding, and the report says so.
"""

import uuid

import pytest

from tests.fleet.conftest import ALIAS, DOMAIN
from tests.fleet.test_fleet import (
    MANAGED,
    ROLE_STATE,
    highstate,
    queues,
    relay_recipients,
    states,
    wait_for,
)

MAILBOX = "/var/mail/" + ALIAS.split("@")[0]


def mailbox(fleet):
    return fleet["relay1-a"].host("bash", "-c", f"cat {MAILBOX} 2>/dev/null || true")


@pytest.fixture
def cron_on_client_a(fleet):
    """
    client-a's cron daemon, reading only the host's own tables (not this machine's /etc/crontab)
    and writing its pid file (/run/crond.pid, fixed in Debian's cron) to a /run of the host's own:
    a tmpfs, with the host's /run/sendmail bound back into it.
    """
    client = fleet["client-a"]
    client.host("mount", "--bind", "/dev/null", "/etc/crontab")
    client.host(
        "bash",
        "-c",
        "mount -t tmpfs host-run /run && mkdir /run/sendmail && "
        'mount --bind "$0/run/sendmail" /run/sendmail',
        str(client.host_root),
    )
    client.host("/usr/sbin/cron")
    yield client
    client.host("pkill", "-x", "cron", check=False)
    client.host("rm", "-f", "/etc/cron.d/fleet-job")
    # (The host's own /run stays: the MSP runner holds files there; it ends with the host.)
    client.host("umount", "/etc/crontab")


def test_cron_output_on_a_client_reaches_the_alias_on_the_relay(fleet, cron_on_client_a):
    assert highstate(fleet).returncode == 0
    marker = f"cron-{uuid.uuid4().hex[:8]}"
    # A root job that prints: cron mails its output to root, through /usr/sbin/sendmail.
    cron_on_client_a.host("bash", "-c", f"echo '* * * * * root echo {marker}' >/etc/cron.d/fleet-job")
    assert wait_for(lambda: marker in mailbox(fleet), timeout=150), (mailbox(fleet), queues(fleet))
    # It left client-a as root@example.com, and nothing is left in its queues.
    message = mailbox(fleet).split(marker)[0].rsplit("\nFrom ", 1)[-1]
    # (cron's own Subject: says "Cron <root@client-a> ...": the addresses are what matter.)
    senders = [line for line in message.splitlines() if line.startswith(("From:", "Return-Path:"))]
    assert senders and all(f"root@{DOMAIN}" in line for line in senders), message
    for queue in ("msp", "mta"):
        assert fleet["cli"].run("sendmail.queue", queue, minion_tgt="client-a").data["count"] == 0


def test_the_relays_own_root_mail_reaches_the_alias(fleet):
    marker = f"relay-{uuid.uuid4().hex[:8]}"
    fleet["relay1-a"].host("sendmail", "root", input_text=f"Subject: {marker}\n\nfrom the relay\n")
    assert wait_for(lambda: marker in mailbox(fleet), timeout=60), queues(fleet)


def test_a_users_mail_leaves_as_the_domain_and_other_users_are_relayed_on(fleet):
    recipient = f"fleet-{uuid.uuid4().hex[:8]}@{DOMAIN}"
    fleet["client-b"].host(
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "/usr/sbin/sendmail",
        recipient,
        input_text="Subject: from a user\n\nhello\n",
    )
    # Another user of the domain: relayed on (it waits for example.com's host), not bounced.
    assert wait_for(lambda: recipient in relay_recipients(fleet)), queues(fleet)
    [message] = [
        message
        for message in fleet["cli"]
        .run("sendmail.queue", "mta", "messages=True", minion_tgt="relay1-a")
        .data["messages"]
        if recipient in [rcpt.strip("<>") for rcpt in message["recipients"]]
    ]
    # The envelope sender and the From: header (a qf H line) both name the domain.
    assert message["sender"].strip("<>") == f"nobody@{DOMAIN}"
    # qf files hold raw bytes (sendmail's macro codes): their printable part is enough here.
    qf = fleet["relay1-a"].host(
        "bash", "-c", f"tr -cd '[:print:]\\n' </var/spool/mqueue/qf{message['id']}"
    )
    from_headers = [line for line in qf.splitlines() if line.startswith("H") and "From:" in line]
    assert from_headers and all(f"nobody@{DOMAIN}" in line for line in from_headers), qf
    assert fleet["cli"].run("sendmail.queue", "msp", minion_tgt="client-b").data["count"] == 0
    assert "postmaster" not in mailbox(fleet)  # nothing bounced


def test_a_site_without_masquerade_as_is_told_where_roots_mail_goes(fleet):
    pillar = fleet["pillar"]
    pillar.write("override", {"sendmail": {"sites": {"site-b": {"masquerade_as": None}}}})
    try:
        fleet["cli"].run("saltutil.refresh_pillar", "wait=True", minion_tgt="client-b")
        ret = highstate(fleet)
        assert states(ret, "client-b")[ROLE_STATE]["result"] is True
        status = fleet["cli"].run("-L", "sendmail.status", minion_tgt=MANAGED).data
        route = status["client-b"]["local_mail"]
        assert (route["address"], route["returns_here"]) == ("root@client-b.example.test", True)
        [finding] = [f for f in status["client-b"]["findings"] if f["id"] == "local-mail-unrouted"]
        assert "sendmail:sites:SITE:masquerade_as" in finding["message"]
        for minion in ("client-a", "relay1-a"):
            assert "local-mail-unrouted" not in [f["id"] for f in status[minion]["findings"]]
        assert status["client-a"]["local_mail"]["address"] == f"root@{DOMAIN}"
        # The master's runner, synced from file_roots (test_fleet_view.py does it too).
        fleet["master"].salt_run_cli(timeout=120).run("saltutil.sync_all")
        report = fleet["master"].salt_run_cli(timeout=120).run("sendmail.report")
        # It plays its role as pillar says, and root's mail is lost: a person must fix the pillar,
        # the reactor must not re-apply it.
        assert report.data["summary"]["at_risk"] == ["client-b"], report.data
        assert report.data["summary"]["drifted"] == [], report.data
        assert report.data["retcode"] == 1
        assert "local-mail-unrouted" in [f["id"] for f in report.data["minions"]["client-b"]["findings"]]
    finally:
        pillar.write("override", {})
        fleet["cli"].run("saltutil.refresh_pillar", "wait=True", minion_tgt="client-b")
    assert highstate(fleet).returncode == 0
