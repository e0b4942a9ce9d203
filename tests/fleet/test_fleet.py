"""
Highstate from a real master over three real minions, each its own sendmail host (see conftest.py).
The tests run in order: the first one converges the fleet, the next ones use it.
"""

import socket
import time
import uuid

import pytest

from tests.support.snapshot import snapshot_command

ROLE_STATE = "sendmail-init-sendmail-role"


def states(ret, minion):
    """A minion's highstate results by state ID."""
    return {result["__id__"]: result for result in ret.data[minion].values()}


MANAGED = "relay1-a,client-a,client-b"


def highstate(fleet, test=False, top=False):
    """
    The formula applied to the three managed minions (test_fleet_view.py adds an unmanaged one):
    its ``sendmail`` SLS, which is all the master's top file gives them; with ``top``, through the
    top file itself (``state.highstate``: measured 8.8 s for the three against 1.8 s, so the
    first test alone does it).
    """
    args = ["state.highstate"] if top else ["state.apply", "sendmail"]
    ret = fleet["cli"].run("-L", *args, *(["test=True"] if test else []), minion_tgt=MANAGED)
    assert set(ret.data) == {"relay1-a", "client-a", "client-b"}, ret.stderr
    return ret


def snapshots(fleet):
    return {
        minion: fleet[minion].host("bash", "-c", snapshot_command())
        for minion in ("relay1-a", "client-a", "client-b")
    }


def relay_recipients(fleet):
    ret = fleet["cli"].run("sendmail.queue", "mta", "messages=True", minion_tgt="relay1-a")
    return [rcpt.strip("<>") for message in ret.data["messages"] for rcpt in message["recipients"]]


def queues(fleet):
    """Every queue's messages, for a failure message."""
    return fleet["cli"].run("-L", "sendmail.queue", "messages=True", minion_tgt=MANAGED).data


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def send(minion, recipient):
    minion.host("sendmail", recipient, input_text=f"Subject: fleet test\n\nto {recipient}\n")


def listens(address, port=25):
    try:
        socket.create_connection((address, port), timeout=3).close()
    except OSError:
        return False
    return True


def test_highstate_gives_every_host_its_role(fleet):
    cli = fleet["cli"]
    # Debian's default daemon runs on every host before Salt takes over.
    for minion in ("relay1-a", "client-a", "client-b"):
        fleet[minion].host("/etc/init.d/sendmail", "start")
    synced = cli.run("saltutil.sync_all", minion_tgt="*")
    assert all(result["states"] == ["states.sendmail"] for result in synced.data.values())

    before = snapshots(fleet)
    predicted = highstate(fleet, test=True, top=True)
    for minion in ("relay1-a", "client-a", "client-b"):
        role = states(predicted, minion)[ROLE_STATE]
        assert role["result"] is None, role["comment"]
        assert role["changes"]
    assert snapshots(fleet) == before

    applied = highstate(fleet, top=True)
    assert applied.returncode == 0, applied.data
    assert states(applied, "relay1-a")[ROLE_STATE]["comment"].startswith("server (site site-a)")
    assert states(applied, "client-b")[ROLE_STATE]["comment"].startswith("client (site site-b)")

    again = highstate(fleet)
    for minion in ("relay1-a", "client-a", "client-b"):
        for result in states(again, minion).values():
            assert (result["result"], result["changes"]) == (True, {}), (minion, result)

    status = cli.run("sendmail.status", minion_tgt="*").data
    assert {minion: report["role"] for minion, report in status.items()} == {
        "relay1-a": "server",
        "client-a": "client",
        "client-b": "client",
    }
    assert status["client-a"]["relay"]["msp"] == "[198.51.100.11]"
    assert status["client-b"]["relay"]["msp"] == "[198.51.100.19]:[198.51.100.11]"
    for minion in ("client-a", "client-b"):
        assert status[minion]["listeners"] == []
        assert [daemon["kind"] for daemon in status[minion]["daemons"]] == ["msp-queue-runner"]
        assert status[minion]["findings"] == []
    assert listens("198.51.100.11")
    assert not listens("198.51.100.12")
    assert not listens("198.51.100.13")


def test_mail_from_each_client_reaches_the_relay(fleet):
    to_a, to_b = (f"fleet-{uuid.uuid4().hex[:8]}@example.com" for _ in range(2))
    send(fleet["client-a"], to_a)
    # client-b's first relay does not answer: sendmail goes on to the second one itself.
    send(fleet["client-b"], to_b)
    assert wait_for(lambda: {to_a, to_b} <= set(relay_recipients(fleet))), str(queues(fleet))
    for minion in ("client-a", "client-b"):
        queue = fleet["cli"].run("sendmail.queue", "msp", minion_tgt=minion).data
        assert queue["count"] == 0


def test_mail_waits_while_the_relay_is_down_and_arrives_after(fleet):
    fleet["relay1-a"].host("/etc/init.d/sendmail", "stop")
    recipient = f"fleet-{uuid.uuid4().hex[:8]}@example.com"
    try:
        send(fleet["client-a"], recipient)
        assert wait_for(
            lambda: fleet["cli"].run("sendmail.queue", "msp", minion_tgt="client-a").data["count"] == 1
        )
        queue = fleet["cli"].run("sendmail.queue", "msp", minion_tgt="client-a").data
        assert queue["runner"].startswith("daemon")
    finally:
        fleet["relay1-a"].host("/etc/init.d/sendmail", "start")
    assert recipient not in relay_recipients(fleet)
    # What the MSP queue runner does every 15 minutes, now.
    flushed = fleet["cli"].run("sendmail.flush", "msp", minion_tgt="client-a").data
    assert len(flushed["msp"]["left"]) == 1
    assert recipient in relay_recipients(fleet)


# One bad pillar of each check that refuses it (each costs a state run on every minion): a value
# the allowlist refuses when the role is built, a key the schema does not know, a site the
# minion's pillar resolves to nothing. The schema's other refusals are tests/unit/test_schema.py's.
BAD_PILLARS = [
    ({"sendmail": {"sites": {"site-b": {"relays": ["198.51.100.11:587"]}}}}, "port"),
    (
        {"sendmail": {"sites": {"site-b": {"relay_domain": ["example.com"]}}}},
        "sendmail:sites:site-b:relay_domain: unknown key; did you mean relay_domains?",
    ),
    (
        {"sendmail": {"site": "site-c", "sites": {"site-c": {"relays": []}}}},
        "sendmail:sites:site-c:relays",
    ),
]


@pytest.mark.parametrize(("override", "said"), BAD_PILLARS)
def test_bad_pillar_fails_that_minion_only(fleet, override, said):
    cli, pillar = fleet["cli"], fleet["pillar"]
    pillar.write("override", override)
    try:
        cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt="*")
        before = snapshots(fleet)
        ret = highstate(fleet)
        failed = states(ret, "client-b")[ROLE_STATE]
        assert failed["result"] is False
        assert said in failed["comment"]
        assert failed["changes"] == {}
        for minion in ("relay1-a", "client-a"):
            for result in states(ret, minion).values():
                assert (result["result"], result["changes"]) == (True, {}), (minion, result)
        assert snapshots(fleet) == before
        # The one judgement (what the report and the beacon read) says the same, naming the key:
        # misconfigured, which the reactor leaves alone (a role run would fail the same way).
        judged = cli.run("sendmail.compliance", minion_tgt="client-b").data
        assert (judged["verdict"], said in judged["problem"]) == ("misconfigured", True), judged
    finally:
        pillar.write("override", {})
        cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt="*")
