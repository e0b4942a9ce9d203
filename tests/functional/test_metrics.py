"""
sendmail.metrics through Salt's real loader on a private sendmail world: real queue files made by
sendmail, a real daemon, and Debian's promtool reading what comes out.
"""

import os
import pathlib
import stat
import time

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from saltext.sendmail.shared import judgement
from tests.support.mounts import fill
from tests.support.prometheus import promtool, samples


def test_queues_daemons_and_verdict_as_the_status_sees_them(sendmail, world):
    for rcpt in ("a@example.com", "b@example.com"):
        world.submit(rcpt, queue="mta")
    for rcpt in ("c@example.com", "d@example.com", "e@example.com"):
        world.submit(rcpt, queue="msp")
    world.start_daemon("-bD", "-ODaemonPortOptions=Name=MTA,Addr=0.0.0.0,Port=25", wait_port=25)
    text = sendmail.metrics()
    report = sendmail.status()
    found = samples(text)

    assert promtool("check", "metrics", text=text) == (0, "")
    assert found[("sendmail_queue_messages", (("queue", "mta"),))] == 2
    assert found[("sendmail_queue_messages", (("queue", "msp"),))] == 3
    assert found[("sendmail_queue_bytes", (("queue", "msp"),))] == report["queues"]["msp"]["bytes"]
    assert found[("sendmail_queue_oldest_message_age_seconds", (("queue", "msp"),))] >= 0
    assert found[("sendmail_queue_warn_seconds", (("queue", "mta"),))] == 4 * 3600
    assert found[("sendmail_queue_return_seconds", (("queue", "mta"),))] == 5 * 86400
    assert found[("sendmail_daemon_running", (("daemon", "mta"),))] == 1
    assert found[("sendmail_daemon_running", (("daemon", "msp-queue-runner"),))] == 0
    assert found[("sendmail_exposed_listeners", ())] == 1
    # One series per verdict of the one judgement, 1 for compliance()'s.
    verdict = sendmail.compliance()["verdict"]
    verdicts = {
        labels[0][1]: value for (name, labels), value in found.items() if name == "sendmail_verdict"
    }
    assert verdicts == {name: int(name == verdict) for name in judgement.VERDICTS}
    assert found[("sendmail_role_info", (("expected", ""), ("observed", "server")))] == 1
    high = sum(1 for finding in report["findings"] if finding["severity"] == "high")
    assert found[("sendmail_findings", (("severity", "high"),))] == high
    assert ("sendmail_info", (("provider", "sendmail"), ("version", report["version"]))) in found


def test_an_empty_quiet_host_says_zero_and_when(sendmail):
    found = samples(sendmail.metrics())
    assert found[("sendmail_queue_messages", (("queue", "msp"),))] == 0
    assert found[("sendmail_queue_oldest_message_age_seconds", (("queue", "mta"),))] == 0
    assert found[("sendmail_daemon_running", (("daemon", "mta"),))] == 0
    assert found[("sendmail_exposed_listeners", ())] == 0
    taken = found[("sendmail_metrics_timestamp_seconds", ())]
    assert abs(taken - time.time()) < 60  # when they were taken: now


def test_the_textfile_is_replaced_whole_and_readable(sendmail, world, tmp_path):
    textfile_dir = tmp_path / "node-exporter"
    textfile_dir.mkdir()
    (textfile_dir / "other.prom").write_text("other_metric 1\n")
    world.submit("a@example.com", queue="msp")
    text = sendmail.metrics(textfile_dir=str(textfile_dir))
    written = textfile_dir / "sendmail.prom"
    assert written.read_text() == text
    assert stat.S_IMODE(written.stat().st_mode) == 0o644  # node_exporter's user reads it
    inode = written.stat().st_ino
    sendmail.metrics(textfile_dir=str(textfile_dir))
    assert written.stat().st_ino != inode  # a new file renamed over it, never written in place
    assert sorted(path.name for path in textfile_dir.iterdir()) == ["other.prom", "sendmail.prom"]


@pytest.mark.parametrize("bad", ["relative/dir", "/no/such/dir", "/tmp/$(reboot)"])
def test_a_bad_textfile_dir_is_refused_and_nothing_written(sendmail, bad):
    with pytest.raises(SaltInvocationError, match="textfile_dir"):
        sendmail.metrics(textfile_dir=bad)
    assert not pathlib.Path("/no/such/dir").exists()


def test_a_full_disk_keeps_the_last_good_file(sendmail, tmp_path, mounts):
    """A refresh that cannot write fails naming the file and leaves the previous one whole."""
    textfile_dir = tmp_path / "full"
    textfile_dir.mkdir()
    sendmail.metrics(textfile_dir=str(textfile_dir))
    before = (textfile_dir / "sendmail.prom").read_text()
    mounts.tmpfs(textfile_dir, "64k")
    fill(textfile_dir)
    with pytest.raises(CommandExecutionError, match=r"sendmail\.prom"):
        sendmail.metrics(textfile_dir=str(textfile_dir))
    assert (textfile_dir / "sendmail.prom").read_text() == before
    assert sorted(os.listdir(textfile_dir)) == ["filler", "sendmail.prom"]  # no temp file left
