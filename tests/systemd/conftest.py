"""
Hosts with a real systemd as PID 1 (tests/support/systemd_host.py), each linked to the test network
(198.51.100.0/24), where a real sendmail relay listens on 198.51.100.1 in the test run's namespace.
"""

import itertools
import shutil
import tempfile
import time

import pytest

from tests.support.netns import NETWORK, bridge, linked_netns
from tests.support.systemd_host import RELEASES, RUN_TAG, SystemdHost

# Debian 13's own tests run on the Salt line its root file system holds (3008, docs "Tests":
# what runs where); on another line they are not collected, rather than run on that Salt anyway.
# The rolling patch's (three hosts and a master, about three minutes) runs on the other line, so
# that the two lines, run at once, take about as long as each other.
collect_ignore_glob = ["test_patch_relays.py"] if "debian13" in RELEASES else ["*debian13*.py"]
RELAY = f"[{NETWORK}.1]"
CLIENT_DOMAIN = "example.com"
_numbers = itertools.count(41)


def hosts_text(hostname):
    short = hostname.split(".")[0]
    return (
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname} {short}\n{NETWORK}.1\trelay.example.test\n"
        # Mail domains resolve from /etc/hosts: the MSP canonifies recipients and there is no DNS.
        "192.0.2.10\texample.com\n"
    )


@pytest.fixture
def relay(make_world):
    """A real sendmail relay on 198.51.100.1 that keeps what it receives in its queue."""
    bridge()  # the test network, where 198.51.100.1 is this namespace's address
    world = make_world()
    world.start_relay(f"{NETWORK}.1")
    return world


@pytest.fixture(params=RELEASES)
def release(request):
    """
    The Debian release the systemd hosts boot: in each test's id (``[debian12]``). A test that
    holds for one release only says so with ``pytest.mark.parametrize("release", [...])``.
    """
    return request.param


@pytest.fixture
def make_systemd_host(release):
    """Make hosts that boot systemd; each is powered off and removed after the test."""
    work = tempfile.mkdtemp(prefix="smh-", dir="/tmp")
    made, links = [], []

    def make(prepare=None, number=None, hostname=None, extra_hosts=""):
        # 41...49 by default: their names are in tests/data/hosts, for the relay.
        number = number or next(_numbers)
        name = f"smh{number}-{RUN_TAG}"
        link = linked_netns(name, number)
        links.append(link)
        link.__enter__()
        hostname = hostname or f"host{number}.example.test"
        host = SystemdHost(
            name,
            work,
            hostname,
            netns=name,
            hosts_text=hosts_text(hostname) + extra_hosts,
            release=release,
        )
        made.append(host)
        if prepare:
            prepare(host)
        host.boot()
        return host

    yield make
    for host in made:
        host.destroy()
    for link in reversed(links):
        link.__exit__(None, None, None)
    shutil.rmtree(work, ignore_errors=True)


def assert_converged(host, function, **kwargs):
    """Applying ``function`` again changes nothing."""
    again = host.state(function, **kwargs)
    assert (again["result"], again["changes"]) == (True, {}), again["comment"]


def assert_delivered_after_outage(host, relay, wait):
    """
    Mail sent while the relay is down waits in the host's MSP queue; once the relay is back, the
    queue's runner (daemon or cron) delivers it within ``wait`` seconds.
    """
    relay.stop_daemons()
    host.run("sendmail", "ops@example.com", input_text="Subject: while down\n\nqueued\n")
    assert host.salt_call("sendmail.queue", "msp")["count"] == 1
    relay.start_relay(RELAY.strip("[]"))
    deadline = time.monotonic() + wait
    while not relay.queued_ids("mta") and time.monotonic() < deadline:
        time.sleep(1)
    waiting = host.salt_call("sendmail.queue", "msp", "messages=True")["messages"]
    assert len(relay.queued_ids("mta")) == 1, [(m["reason"], m["tries"]) for m in waiting]
    assert waiting == []


def assert_root_mail_leaves_as_the_domain(host, relay):
    """
    A bare ``root`` (what cron mails to) leaves the host as root@CLIENT_DOMAIN, never as
    root@this-host (where nothing listens), and reaches the relay at once.
    """
    before = set(relay.queued_ids("mta"))
    host.run("sendmail", "root", input_text="Subject: to root\n\nfrom cron, say\n")
    deadline = time.monotonic() + 30
    while not set(relay.queued_ids("mta")) - before and time.monotonic() < deadline:
        time.sleep(0.5)
    [new] = set(relay.queued_ids("mta")) - before
    qf = (relay.mqueue / f"qf{new}").read_bytes().decode("latin-1")
    assert f"<root@{CLIENT_DOMAIN}>" in qf, qf
    assert f"S<root@{CLIENT_DOMAIN}>" in qf, qf
    assert host.salt_call("sendmail.status")["local_mail"]["address"] == f"root@{CLIENT_DOMAIN}"
