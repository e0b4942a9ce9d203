"""sendmail.status and friends through Salt's real loader, on a private sendmail world."""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.support.release import SENDMAIL_VERSION
from tests.support.world import SENDMAIL

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


def finding_ids(report):
    return {finding["id"] for finding in report["findings"]}


def test_version_of_the_real_binary(sendmail):
    info = sendmail.version()
    assert info["installed"] is True
    assert info["provider"] == "sendmail"
    assert info["version"] == SENDMAIL_VERSION
    assert info["msp_split"] is True


def test_quiet_host_has_no_listeners_and_is_not_exposed(sendmail):
    report = sendmail.status()
    assert report["listeners"] == []
    assert report["exposed"] is False
    assert report["daemons"] == []
    assert "exposed-listener" not in finding_ids(report)


def test_daemon_on_all_addresses_is_exposed_and_a_server(sendmail, world):
    proc = world.start_daemon(
        "-bD", "-q15m", "-ODaemonPortOptions=Name=MTA,Addr=0.0.0.0,Port=25", wait_port=25
    )
    report = sendmail.status()
    [listener] = report["listeners"]
    assert {key: listener[key] for key in ("address", "port", "exposed")} == {
        "address": "0.0.0.0",
        "port": 25,
        "exposed": True,
    }
    # The daemon's socket, though the queue run it has just forked may hold it too (psutil named
    # that child on a loaded machine: see the test above).
    assert (listener["pid"], listener["process"]) == (proc.pid, "sendmail"), listener
    assert report["exposed"] is True
    assert report["role"] == "server"
    assert "exposed-listener" in finding_ids(report)
    # With -q15m sendmail forks a queue run at once; on a loaded machine that child may still be
    # there (a second entry, its own title): the daemon is the process the test started.
    [daemon] = [found for found in report["daemons"] if found["pid"] == proc.pid]
    assert {found["kind"] for found in report["daemons"]} <= {"mta", "mta-queue-runner", "other"}
    # The title hides -q15m; the interval comes from the command line sendmail wrote to its PidFile.
    assert (daemon["pid"], daemon["kind"], daemon["accepting"], daemon["interval"]) == (
        proc.pid,
        "mta",
        True,
        900,
    )
    assert report["queues"]["mta"]["runners"] == [{"type": "daemon", "pid": proc.pid, "interval": 900}]


# A stand-in daemon called sendmail listens on 127.0.0.1:465 and forks a child that keeps the socket,
# as sendmail's queue runs and SMTP children hold their daemon's socket for a moment.
FORKING_DAEMON = """
import os, socket, time
with open("/proc/self/comm", "w") as comm:
    comm.write("sendmail")
listening = socket.create_server(("127.0.0.1", 465))
if os.fork() == 0:
    time.sleep(120)
    os._exit(0)
print("ready", flush=True)
time.sleep(120)
"""


def test_a_socket_a_forked_child_holds_too_is_the_daemons(sendmail):
    # psutil names the last process it read holding a socket (the child, whose pid is higher).
    daemon = subprocess.Popen(
        [sys.executable, "-c", FORKING_DAEMON], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert daemon.stdout.readline() == "ready\n"
        [child] = psutil.Process(daemon.pid).children()
        [listener] = sendmail.status()["listeners"]
        assert (listener["address"], listener["port"]) == ("127.0.0.1", 465)
        assert (listener["pid"], listener["process"]) == (daemon.pid, "sendmail"), child.pid
    finally:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()


def test_loopback_only_daemon_is_local_only(sendmail, world):
    world.start_daemon(
        "-bD",
        "-ODaemonPortOptions=Name=MTA,Addr=127.0.0.1,Port=25",
        "-ODaemonPortOptions=Name=MSA,Addr=127.0.0.1,Port=587,M=E",
        wait_port=25,
    )
    report = sendmail.status()
    assert [(entry["address"], entry["port"]) for entry in report["listeners"]] == [
        ("127.0.0.1", 25),
        ("127.0.0.1", 587),
    ]
    assert report["exposed"] is False
    assert report["role"] == "local-only"
    assert "exposed-listener" not in finding_ids(report)
    assert "msp-to-dead-mta" not in finding_ids(report)


def test_port_2525_is_not_port_25(sendmail, world):
    world.start_daemon("-bD", "-ODaemonPortOptions=Name=MTA,Addr=0.0.0.0,Port=2525", wait_port=2525)
    report = sendmail.status()
    assert report["listeners"] == []
    assert report["exposed"] is False


def test_msp_queue_runner_daemon_is_seen_with_its_interval(sendmail, world):
    world.start_daemon("-q20m", cf=world.submit_cf)
    report = sendmail.status()
    [daemon] = report["daemons"]
    assert daemon["kind"] == "msp-queue-runner"
    assert daemon["interval"] == 1200
    assert daemon["user"] == "smmsp"  # submit.cf's RunAsUser
    assert daemon["queue_dir"] == str(world.cqueue)
    assert report["queues"]["msp"]["runner"] == f"daemon pid {daemon['pid']} every 1200 s"


def test_queues_count_messages_queued_by_sendmail(sendmail, world):
    for rcpt in ("a@example.com", "b@example.com", "c@example.com"):
        world.submit(rcpt, queue="mta")
    world.submit("d@example.com", "e@example.org", queue="msp")
    queues = sendmail.queue()
    assert queues["mta"]["count"] == 3
    assert queues["msp"]["count"] == 1
    assert 0 <= queues["mta"]["oldest_age"] < 60
    on_disk = sum(entry.stat().st_size for entry in os.scandir(world.mqueue))
    assert queues["mta"]["bytes"] == on_disk
    msp = sendmail.queue("msp", messages=True)
    [message] = msp["messages"]
    assert message["recipients"] == ["d@example.com", "e@example.org"]
    assert message["sender"] == "root"
    assert message["size"] == len("hello\n")
    limited = sendmail.queue("mta", messages=True, limit=2)
    assert len(limited["messages"]) == 2
    assert limited["count"] == 3


def test_queue_subdirectories_and_wildcards(sendmail, world):
    base = world.root / "spool-split"
    for name in ("q1", "q2"):
        for sub in ("qf", "df", "xf"):
            (base / name / sub).mkdir(parents=True)
        os.chmod(base / name, 0o700)
    world.build_mta(extra="")
    text = world.sendmail_cf.read_text().replace(
        f"O QueueDirectory={world.mqueue}", f"O QueueDirectory={base}/q*"
    )
    world.sendmail_cf.write_text(text)
    for rcpt in ("a@example.com", "b@example.com", "c@example.com", "d@example.com"):
        world.submit(rcpt, queue="mta")
    mta = sendmail.queue("mta")
    assert [entry["path"] for entry in mta["directories"]] == [str(base / "q1"), str(base / "q2")]
    assert mta["count"] == 4
    qf_files = sum(len(os.listdir(base / name / "qf")) for name in ("q1", "q2"))
    assert qf_files == 4
    assert mta["bytes"] > 0


def test_stranded_queue_found_until_a_cron_runner_exists(sendmail, world):
    world.submit("a@example.com", queue="mta")
    report = sendmail.status()
    assert "queue-stranded" in finding_ids(report)
    (world.crontabs / "root").write_text("17 * * * * /usr/sbin/sendmail -q\n")
    report = sendmail.status()
    assert "queue-stranded" not in finding_ids(report)
    assert report["queues"]["mta"]["runners"][0]["schedule"] == "17 * * * *"


def test_debian_msp_cron_counts_as_the_msp_runner(sendmail, world):
    world.submit("a@example.com", queue="msp")
    assert "queue-stranded" in finding_ids(sendmail.status())
    shutil.copy(DATA / "debian-cron.d-sendmail", world.cron_d / "sendmail")
    report = sendmail.status()
    assert "queue-stranded" not in finding_ids(report)
    assert report["queues"]["msp"]["runners"][0]["user"] == "smmsp"


def test_msp_pointing_at_a_dead_local_mta(sendmail):
    report = sendmail.status()
    assert report["relay"]["msp"] == "[127.0.0.1]"
    assert "msp-to-dead-mta" in finding_ids(report)
    assert report["role"] == "off"


def test_msp_pointing_at_a_relay_is_a_client(sendmail, world):
    world.build_msp(relay="[relay.example.test]", port=587)
    report = sendmail.status()
    assert report["relay"]["msp"] == "[relay.example.test]"
    assert report["relay"]["msp_port"] == 587
    assert "msp-to-dead-mta" not in finding_ids(report)
    assert report["role"] == "client"


def test_unsafe_queue_directory(sendmail, world):
    assert "queue-unsafe-permissions" not in finding_ids(sendmail.status())
    os.chmod(world.cqueue, 0o2777)
    report = sendmail.status()
    [finding] = [f for f in report["findings"] if f["id"] == "queue-unsafe-permissions"]
    assert str(world.cqueue) in finding["message"]


def test_old_message_threshold(sendmail, world):
    world.submit("a@example.com", queue="mta")
    assert "queue-old-message" not in finding_ids(sendmail.status())
    time.sleep(1.1)
    assert "queue-old-message" in finding_ids(sendmail.status(max_queue_age=0))


def test_bad_max_queue_age_is_refused(sendmail):
    with pytest.raises(Exception, match="max_queue_age"):
        sendmail.status(max_queue_age="soon")


def _sendmail_loads(cf):
    """The real sendmail's verdict on a cf: 0 when it loads."""
    return subprocess.run(
        [SENDMAIL, "-C", str(cf), "-bt"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    ).returncode


@pytest.mark.parametrize("damage", ["missing", "empty", "garbage", "no-local-mailer", "intact"])
def test_cf_problems_agree_with_sendmail(sendmail, world, damage):
    cf = world.sendmail_cf
    if damage == "missing":
        cf.unlink()
    elif damage == "empty":
        cf.write_text("")
    elif damage == "garbage":
        cf.write_text(cf.read_text() + "this line is not sendmail.cf syntax\n")
    elif damage == "no-local-mailer":
        lines = cf.read_text().splitlines(keepends=True)
        cf.write_text("".join(line for line in lines if not line.startswith("Mlocal")))
    report = sendmail.status()
    flagged = "cf-invalid" in finding_ids(report)
    assert flagged is (damage != "intact")
    assert flagged is (_sendmail_loads(cf) != 0)


def test_no_sendmail_installed(world, set_lookup):
    sendmail = set_lookup({**world.lookup, "sendmail_bin": "/nonexistent/sendmail"})
    report = sendmail.status()
    assert (report["installed"], report["provider"], report["role"]) == (False, "none", "off")
    assert report["findings"] == []


def test_missing_queue_directories_and_garbage_qf(sendmail, world):
    world.submit("a@example.com", queue="mta")
    (world.mqueue / "qfgarbage").write_bytes(b"\x00\xff not a qf\n")
    os.rmdir(world.cqueue)
    queues = sendmail.queue(messages=True)
    assert queues["msp"]["directories"][0]["exists"] is False
    assert queues["msp"]["count"] == 0
    assert queues["mta"]["count"] == 2
    garbage = [m for m in queues["mta"]["messages"] if m["id"] == "garbage"]
    assert garbage and garbage[0]["recipients"] == []


def test_switches_of_every_vendor(world, set_lookup):
    data = world.root / "switch-data"
    data.mkdir()
    (data / "sysconfig").write_text("DAEMON=no\nQUEUE=1h\n")
    units = data / "systemd" / "multi-user.target.wants"
    units.mkdir(parents=True)
    (units / "sm-client.service").symlink_to("/usr/lib/systemd/system/sm-client.service")
    (data / "default-sendmail").write_text('MODE=""\nQUEUEINTERVAL="15m"\nCLIENTQUEUEINTERVAL="15m"\n')
    (data / "defaults-rc.conf").write_text('sendmail_enable="NO"\nsendmail_msp_queue_enable="YES"\n')
    (data / "rc.conf").write_text('hostname="box.example.test"\nsendmail_enable="NONE"\n')
    lookup = dict(world.lookup, systemd_dir=str(data / "systemd"))
    lookup["switch_files"] = {
        "debian": str(world.sendmail_conf),
        "redhat": str(data / "sysconfig"),
        "solaris": str(data / "default-sendmail"),
        "freebsd": [str(data / "defaults-rc.conf"), str(data / "rc.conf"), str(data / "missing")],
    }
    switches = set_lookup(lookup).status()["switches"]
    assert switches["debian"]["DAEMON_MODE"] == "Daemon"
    assert switches["debian"]["MSP_MODE"] == "Cron"
    assert (switches["redhat"]["DAEMON"], switches["redhat"]["QUEUE"]) == ("no", "1h")
    assert switches["redhat"]["units"] == {"sendmail.service": False, "sm-client.service": True}
    assert switches["solaris"]["MODE"] == ""
    # rc.conf overrides /etc/defaults/rc.conf, as FreeBSD's rc does.
    assert switches["freebsd"]["sendmail_enable"] == "NONE"
    assert switches["freebsd"]["sendmail_msp_queue_enable"] == "YES"
    assert switches["freebsd"]["files"] == [str(data / "defaults-rc.conf"), str(data / "rc.conf")]


def test_the_documented_status_example_has_every_key_a_real_status_returns(sendmail):
    # docs/topics/status.md shows `sendmail.status --out=yaml` of a client: each key a real run
    # returns (top level, and each queue's) must be in it, so the example cannot fall behind.
    import pathlib

    import yaml

    page = pathlib.Path(__file__).resolve().parents[2] / "docs" / "topics" / "status.md"
    block = page.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    [example] = yaml.safe_load(block).values()
    report = sendmail.status()
    missing = {key: report[key] for key in sorted(set(report) - set(example))}
    assert not missing, f"docs/topics/status.md's example lacks {missing}"
    documented_queue = next(iter(example["queues"].values()))
    real_queue = next(iter(report["queues"].values()))
    assert sorted(set(real_queue) - set(documented_queue)) == []
