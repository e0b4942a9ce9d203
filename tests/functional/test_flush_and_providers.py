"""sendmail.flush with a real relay, and hosts whose sendmail is not sendmail."""

import pathlib
import subprocess

import pytest

CACHE = pathlib.Path(__file__).resolve().parents[2] / ".cache" / "debs"


def test_flush_moves_msp_mail_to_the_relay(make_world, set_lookup):
    relay = make_world()
    relay.start_relay("127.0.0.2")
    client = make_world(msp_relay="[127.0.0.2]")
    for rcpt in ("a@example.com", "b@example.org"):
        client.submit(rcpt, queue="msp")
    queued = client.queued_ids("msp")
    assert len(queued) == 2
    sendmail = set_lookup(client.lookup)
    result = sendmail.flush("msp")
    assert result["msp"]["retcode"] == 0
    assert result["msp"]["left"] == queued
    assert result["msp"]["remaining"] == []
    # Both arrived at the relay, where they wait in its queue.
    assert len(relay.queued_ids("mta")) == 2


def test_flush_keeps_what_cannot_be_delivered(world, sendmail):
    # example.com resolves (tests/data/hosts) to an address with no route here: deferred.
    world.submit("a@example.com", queue="mta")
    queued = world.queued_ids("mta")
    result = sendmail.flush()
    assert result["mta"]["left"] == []
    assert result["mta"]["remaining"] == queued
    assert world.queued_ids("mta") == queued
    [message] = sendmail.queue("mta", messages=True)["messages"]
    assert message["tries"] >= 1
    assert message["reason"]


def test_flush_refuses_an_unknown_queue(sendmail):
    with pytest.raises(Exception, match="queue name"):
        sendmail.flush("both")


def _unpack(package, dest):
    [deb] = CACHE.glob(f"{package}_*.deb")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    return dest


@pytest.mark.parametrize(
    ("package", "binary", "provider"),
    [("postfix", "usr/sbin/sendmail", "postfix"), ("exim4-daemon-light", "usr/sbin/sendmail", "exim")],
)
def test_other_mtas_are_recognised_and_not_run(world, set_lookup, package, binary, provider):
    root = _unpack(package, world.root / package)
    sendmail = set_lookup({**world.lookup, "sendmail_bin": str(root / binary)})
    report = sendmail.status()
    assert (report["installed"], report["provider"], report["version"]) == (True, provider, None)
    assert report["role"] == "unknown"
    assert report["findings"] == []


def test_a_binary_that_is_no_mta(world, set_lookup):
    sendmail = set_lookup({**world.lookup, "sendmail_bin": "/bin/true"})
    report = sendmail.version()
    assert (report["installed"], report["provider"], report["version"]) == (True, "other", None)
