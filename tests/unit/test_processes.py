"""The processes submodule through its public names (saltext.sendmail.shared.processes)."""

import os
import subprocess
import types

import psutil

from saltext.sendmail.shared import processes


def test_parse_title_kinds():
    assert processes.parse_title("sendmail: MTA: accepting connections")["kind"] == "mta"
    msp = processes.parse_title("sendmail: MSP: Queue runner@00:20:00 for /var/spool/mqueue-client")
    assert (msp["kind"], msp["interval"], msp["queue_dir"]) == (
        "msp-queue-runner",
        1200,
        "/var/spool/mqueue-client",
    )
    mta = processes.parse_title("sendmail: MTA: Queue runner@01:00:00 for /var/spool/mqueue")
    assert (mta["kind"], mta["interval"]) == ("mta-queue-runner", 3600)
    assert processes.parse_title("sendmail: ./6AQ6GcZx000009 relay.example.test.: user open")[
        "kind"
    ] == ("other")


def test_argv_queue_interval():
    assert (
        processes.argv_queue_interval(["/usr/sbin/sendmail-mta", "-Am", "-L", "sm-mta", "-bd", "-q10m"])
        == 600
    )
    assert processes.argv_queue_interval(["sendmail", "-bd", "-qp1h"]) == 3600
    assert processes.argv_queue_interval(["sendmail", "-bd"]) is None


def test_exposed_follows_the_cis_rule():
    assert not processes.is_exposed("127.0.0.1")
    assert not processes.is_exposed("::1")
    assert processes.is_exposed("0.0.0.0")
    assert processes.is_exposed("198.51.100.7")
    assert processes.is_exposed("::")


def test_runner_titles_without_debian_prefix_are_told_by_their_queue_directory():
    # Red Hat's cfs set no "MTA:"/"MSP:" title prefix.
    title = "sendmail: Queue runner@01:00:00 for /var/spool/clientmqueue"
    msp = processes.parse_title(title, msp_dirs=["/var/spool/clientmqueue"])
    assert (msp["kind"], msp["interval"], msp["queue_dir"]) == (
        "msp-queue-runner",
        3600,
        "/var/spool/clientmqueue",
    )
    assert processes.parse_title(title)["kind"] == "mta-queue-runner"
    assert processes.parse_title("sendmail: accepting connections")["kind"] == "mta"


def test_an_mta_refusing_for_load_is_still_the_mta_and_says_why():
    title = "sendmail: MTA: rejecting connections on daemon MTA-v4: load average: 64"
    parsed = processes.parse_title(title)
    assert (parsed["kind"], parsed["accepting"]) == ("mta", False)
    assert parsed["refusing"] == {"daemon": "MTA-v4", "reason": "load average: 64"}
    daemon = {"kind": "mta", "accepting": False, "refusing": parsed["refusing"]}
    assert processes.running([daemon]) == {"mta": True, "msp_runner": False}
    # Red Hat's title has no MTA: prefix.
    assert processes.parse_title("sendmail: rejecting connections on daemon MTA: load average: 12")[
        "refusing"
    ] == {"daemon": "MTA", "reason": "load average: 12"}


def test_a_listener_whose_named_holder_ended_is_looked_at_again(monkeypatch):
    # psutil named a forked child that ended before its name was read: the second look names the
    # process that still holds the socket (here this one).
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert not psutil.pid_exists(gone.pid)
    looks = []

    def net_connections(kind):
        looks.append(kind)
        pid = gone.pid if len(looks) == 1 else os.getpid()
        laddr = types.SimpleNamespace(ip="127.0.0.1", port=25)
        return [types.SimpleNamespace(status=psutil.CONN_LISTEN, laddr=laddr, pid=pid)]

    monkeypatch.setattr(processes.psutil, "net_connections", net_connections)
    monkeypatch.setattr(processes.sock_diag, "listening", lambda: None)  # psutil's path
    [listener] = processes.listeners()
    assert (listener["pid"], listener["process"]) == (os.getpid(), psutil.Process().name())
    assert looks == ["tcp", "tcp"]


def test_through_sock_diag_a_holder_that_ended_is_looked_for_again(monkeypatch):
    gone = subprocess.Popen(["true"])
    gone.wait()
    looks = []

    def holders(inodes):
        looks.append(inodes)
        return {inode: gone.pid if len(looks) == 1 else os.getpid() for inode in inodes}

    monkeypatch.setattr(processes.sock_diag, "listening", lambda: [("0.0.0.0", 25, 77), ("::", 80, 78)])
    monkeypatch.setattr(processes.sock_diag, "holders", holders)
    [listener] = processes.listeners()
    assert (listener["address"], listener["pid"], listener["exposed"]) == ("0.0.0.0", os.getpid(), True)
    assert looks == [{77}, {77}]  # only the SMTP port's socket is looked for
