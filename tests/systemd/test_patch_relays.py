"""
Patching a site's relays (docs, "Patching the relays"): a real salt-master on the test network and
real salt-minions inside three systemd hosts (two relays and a client of one site), each with its
own package database and a local apt repository holding Debian's own sendmail packages rebuilt
under a higher version (tests/support/apt_repo.py). ``salt-run sendmail.patch_relays`` upgrades
them one relay at a time while the client sends a message every second.
"""

import contextlib
import json
import pathlib
import re
import smtplib
import subprocess
import tempfile
import threading
import time

import pytest
import yaml

from tests.support import apt_repo
from tests.support.fleet import MASTER_ADDRESS, formula_roots
from tests.support.netns import NETWORK, bridge
from tests.support.systemd_minion import add_minion, minion_log

SITE = "site-p"
NUMBERS = {"relay1-p": 51, "relay2-p": 52, "client-p": 53}
RELAYS = ("relay1-p", "relay2-p")
# The test's own outage watcher looks at the relays every 0.2 s from this address, which the site
# trusts as it trusts its client (exempt from the per-address limits); the master's probes come
# from 198.51.100.1, which it does not.
WATCHER = f"{NETWORK}.2"
EXTRA_HOSTS = "".join(f"{NETWORK}.{n}\t{name}.example.test {name}\n" for name, n in NUMBERS.items())
PILLAR = {
    "sendmail": {
        "site_grain": "site",
        "sites": {
            SITE: {
                # The client's ordered relay list: it fails over to the second while the first is down.
                "relays": [f"[{NETWORK}.{NUMBERS[name]}]" for name in RELAYS],
                # The site's client alone relays through them: the master (198.51.100.1), which
                # watches the relays during the run, is an outsider to them, under the default
                # per-address limits (client_rate 30 a minute).
                "relay_domains": ["example.com", f"{NETWORK}.{NUMBERS['client-p']}", WATCHER],
                "masquerade_as": "example.com",
                # What the client sends goes to a person: the user "mail" of whichever relay gets it.
                "aliases": {"patchtest": "mail"},
            }
        },
        "msp_interval": "10s",
        # The hosts have their packages: the formula installs none (the runner upgrades).
        "lookup": {"pkgs": []},
    }
}
TOP = {"base": {"*": ["sendmail.common"], "relay*": ["sendmail.relay"], "client-p": ["sendmail.client"]}}
SUBJECT_RE = re.compile(rb"Subject: seq (\d+)\n")
# The site's alias: patchtest@example.com is the user "mail" on the relay that takes it.
RECIPIENT = "patchtest@example.com"
MAILBOX = "/var/mail/mail"


def _write_pillar(root):
    (root / "top.sls").write_text(yaml.safe_dump(TOP))
    (root / "sendmail").mkdir()
    for name, data in (
        ("common", PILLAR),
        ("relay", {"sendmail": {"role": "server"}}),
        ("client", {"sendmail": {"role": "client"}}),
    ):
        (root / "sendmail" / f"{name}.sls").write_text(yaml.safe_dump(data))


def _wait_for_minions(cli, hosts, timeout=120):
    deadline = time.monotonic() + timeout
    answered = {}
    while time.monotonic() < deadline:
        ret = cli.run("test.ping", minion_tgt="*", _timeout=10)
        answered = ret.data if isinstance(ret.data, dict) else {}
        if sorted(m for m, up in answered.items() if up is True) == sorted(hosts):
            return
        time.sleep(2)
    logs = {name: minion_log(host) for name, host in hosts.items()}
    raise AssertionError(f"minions up: {answered}; logs: {logs}")


@pytest.fixture
def site(salt_factories, make_systemd_host):
    """The master, its CLIs, the three hosts by minion id (each host's minion running and synced)."""
    network = bridge()  # the test network: the master listens on 198.51.100.1
    subprocess.run(["ip", "addr", "add", f"{WATCHER}/24", "dev", network], check=True)
    with (
        contextlib.ExitStack() as cleanup,
        tempfile.TemporaryDirectory(prefix="smp-", dir="/tmp") as work,
    ):
        cleanup.callback(
            subprocess.run, ["ip", "addr", "del", f"{WATCHER}/24", "dev", network], check=False
        )
        pillar_root = pathlib.Path(work) / "pillar"
        pillar_root.mkdir()
        _write_pillar(pillar_root)
        master = salt_factories.salt_master_daemon(
            "sm-patch-master",
            overrides={
                "interface": MASTER_ADDRESS,
                # The minions are this test's own hosts, on the test network only.
                "auto_accept": True,
                "timeout": 30,
                # A powered-off minion is given up this long after the plan's time (Salt: 10).
                "gather_job_timeout": 5,
                "file_roots": {"base": [str(formula_roots(f"{work}/formula"))]},
                "pillar_roots": {"base": [str(pillar_root)]},
            },
        )
        with master.started(start_timeout=120):
            hosts = {}
            for name, number in NUMBERS.items():
                hosts[name] = make_systemd_host(
                    prepare=lambda host, name=name: add_minion(host, name, master, {"site": SITE}),
                    number=number,
                    hostname=f"{name}.example.test",
                    extra_hosts=EXTRA_HOSTS,
                )
            cli = master.salt_cli(timeout=300)
            _wait_for_minions(cli, hosts)
            assert cli.run("saltutil.sync_all", minion_tgt="*").returncode == 0
            assert master.salt_run_cli(timeout=120).run("saltutil.sync_all").returncode == 0
            applied = cli.run("state.apply", "sendmail", minion_tgt="*")
            assert applied.returncode == 0, applied.stdout
            yield {"master": master, "cli": cli, "work": pathlib.Path(work), **hosts}


def _last_json(text):
    """The last JSON document in salt-run's output (its progress lines come before the return)."""
    decoder, position, last = json.JSONDecoder(), 0, None
    while position < len(text):
        start = text.find("{", position)
        if start < 0:
            break
        try:
            last, position = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            position = start + 1
    return last


def patch_relays(site, *args):
    ret = site["master"].salt_run_cli(timeout=900).run("sendmail.patch_relays", f"site={SITE}", *args)
    data = _last_json(ret.stdout)
    assert isinstance(data, dict) and "relays" in data, ret.stdout + ret.stderr
    return ret, data


def report(site):
    """The report once every minion's patch level is current (what its scheduled job keeps)."""
    site["master"].salt_cli(timeout=180).run("sendmail.patch_level", minion_tgt="*")
    ret = site["master"].salt_run_cli(timeout=180).run("sendmail.report")
    assert isinstance(ret.data, dict), ret.stdout + ret.stderr
    return ret.data


def version(host):
    return host.sh("dpkg-query -W -f '${Version}' sendmail-bin")


def answers(name):
    """Whether the relay greets an SMTP client from the test network (the watcher's address)."""
    try:
        with smtplib.SMTP(
            f"{NETWORK}.{NUMBERS[name]}", 25, timeout=3, source_address=(WATCHER, 0)
        ) as smtp:
            return smtp.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


class Background:
    """A loop (``_run``, until ``_stop`` is set) in a thread for as long as the context lasts."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Outages(Background):
    """Looks at each relay's greeting every 0.2 s from the test network; records when it had none."""

    def __init__(self):
        super().__init__()
        self.down = {name: [] for name in RELAYS}  # [start, end] of each outage

    def _run(self):
        since = dict.fromkeys(RELAYS)
        while not self._stop.is_set():
            for name in RELAYS:
                now = time.monotonic()
                if answers(name):
                    if since[name] is not None:
                        self.down[name].append([since[name], now])
                    since[name] = None
                elif since[name] is None:
                    since[name] = now
            self._stop.wait(0.2)
        for name in RELAYS:
            if since[name] is not None:
                self.down[name].append([since[name], time.monotonic()])

    def overlapping(self):
        return [
            (a, b)
            for a in self.down["relay1-p"]
            for b in self.down["relay2-p"]
            if a[0] < b[1] and b[0] < a[1]
        ]


class Sender(Background):
    """The client sends one message a second (``Subject: seq N``) through its MSP until stopped."""

    def __init__(self, client):
        super().__init__()
        self.client, self.sent, self.failed = client, 0, []

    def _run(self):
        while not self._stop.is_set():
            started = time.monotonic()
            number = self.sent + 1
            text = f"Subject: seq {number}\n\nsent during the patch\n"
            proc = self.client.run("sendmail", "-oi", RECIPIENT, input_text=text, check=False)
            if proc.returncode:
                self.failed.append((number, proc.stderr))
            self.sent = number
            self._stop.wait(max(1 - (time.monotonic() - started), 0))


def seen(site, pattern):
    """How many times each ``seq N`` is in the files ``pattern`` matches on both relays together."""
    counts = {}
    for name in RELAYS:
        for path in site[name].path("/").glob(pattern.lstrip("/")):
            for number in SUBJECT_RE.findall(path.read_bytes()):
                counts[int(number)] = counts.get(int(number), 0) + 1
    return counts


def arrived(site):
    """Each ``seq N`` in the mailbox where a person reads it, on whichever relay got it."""
    return seen(site, MAILBOX)


def wait_for_all(site, sent, timeout=90):
    """
    Wait until every message sent has left the client's queue and been delivered on a relay
    (queues run by hand: what waits there would otherwise wait for the next queue run).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(arrived(site)) >= sent:
            return
        with contextlib.suppress(AssertionError):
            site["client-p"].run("sendmail", "-Ac", "-q")
            for name in RELAYS:
                site[name].run("sendmail", "-q")
        time.sleep(2)


def _wait(check, timeout=60):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(1)
    return True


def findings(entry):
    return {f["id"] for f in (entry["findings"] or []) + (entry["other_findings"] or [])}


# On Debian 12 (its packages rebuilt); Debian 13 runs the roles (test_debian.py).
@pytest.mark.parametrize("release", ["debian12"])
def test_patch_relays_one_at_a_time_losing_no_mail(site, release):
    installed = apt_repo.installed_version(release)
    broken, broken_version = apt_repo.rebuild(release, "+patch1", site["work"], broken=True)
    fixed, fixed_version = apt_repo.rebuild(release, "+patch2", site["work"])
    relays = [site[name] for name in RELAYS]
    for relay in relays:
        apt_repo.publish(relay, broken)

    # Before: the report shows the pending update on both relays, not on the client.
    before = report(site)
    assert sorted(before["summary"]["unpatched"]) == sorted(RELAYS), before["summary"]
    for name in RELAYS:
        assert "security-update-pending" in findings(before["minions"][name])
        assert before["minions"][name]["package"]["candidate"] == broken_version
        # Debian 12's package backports the fix for SMTP smuggling: fixed, not open.
        if release == "debian12":
            assert "CVE-2023-51765" in before["minions"][name]["advisories"]["fixed"]
    assert before["minions"]["client-p"]["package"]["candidate"] is None

    # test=True: the plan, in order; no package changes.
    _, plan = patch_relays(site, "test=True")
    assert [(r["minion"], r["installed"], r["candidate"], r["result"]) for r in plan["relays"]] == [
        (name, installed, broken_version, None) for name in RELAYS
    ]
    assert [version(relay) for relay in relays] == [installed, installed]

    # A relay already down: the run refuses to take the other one out, and changes nothing.
    site["relay2-p"].run("systemctl", "stop", "sendmail")
    ret, refused = patch_relays(site)
    assert ret.returncode == 1
    assert refused["relays"][0]["result"] is False, refused
    assert (
        "the site would not be served while it restarts ([198.51.100.52]: 198.51.100.52:25 does not answer"
        in refused["relays"][0]["comment"]
    ), refused
    assert [version(relay) for relay in relays] == [installed, installed]
    site["relay2-p"].run("systemctl", "start", "sendmail")

    # A relay whose whole host is down: its minion is silent, its address does not answer. The
    # run refuses, naming it (it used to patch relay1-p, the last one serving; test=True says the
    # same: tests/unit/test_rolling_patch.py).
    site["relay2-p"].poweroff()
    ret, refused = patch_relays(site)
    assert ret.returncode == 1 and refused["silent"] == ["relay2-p"], refused
    assert refused["comment"].startswith("refused, nothing changed: relay2-p did not answer the plan")
    assert version(site["relay1-p"]) == installed
    site["relay2-p"].boot()
    _wait_for_minions(site["cli"], {name: site[name] for name in NUMBERS})
    assert _wait(lambda: answers("relay2-p")), "relay2-p's MTA did not come back with its host"

    # A broken package: the run stops at the first relay; the second is untouched and serving.
    ret, failed = patch_relays(site)
    assert ret.returncode == 1
    first, second = failed["relays"]
    assert first["result"] is False, first
    assert "the upgrade failed: " in first["comment"] and "dpkg" in first["comment"], first
    assert second["result"] is None and "stopped at relay1-p" in second["comment"], second
    assert version(site["relay2-p"]) == installed
    assert answers("relay2-p")
    # The failed upgrade left relay1-p's running sendmail alone (the preinst failed first).
    assert version(site["relay1-p"]) == installed
    assert answers("relay1-p"), first["comment"]

    # The fixed package: both relays patched, one at a time, while the client sends all along.
    for relay in relays:
        apt_repo.publish(relay, fixed)
    with Outages() as outages, Sender(site["client-p"]) as sender:
        time.sleep(3)
        ret, done = patch_relays(site)
        time.sleep(3)
    assert ret.returncode == 0, done
    assert [(r["minion"], r["installed"], r["candidate"], r["result"]) for r in done["relays"]] == [
        (name, installed, fixed_version, True) for name in RELAYS
    ], done
    assert [version(relay) for relay in relays] == [fixed_version, fixed_version]
    # Each relay was out of service once (the package's own restart held back, the role's or the
    # run's the only one), never both at once; the master, an outsider, was never refused.
    assert [len(outages.down[name]) for name in RELAYS] == [1, 1], outages.down
    assert outages.overlapping() == [], outages.down
    assert all(r["out_of_service"] is not None for r in done["relays"])
    for relay in done["relays"]:
        assert "Connection rate limit exceeded" not in relay["comment"], relay

    # No mail lost, none twice: every message the client sent is once in a mailbox, none waits.
    assert sender.failed == []
    wait_for_all(site, sender.sent)
    counts = arrived(site)
    assert counts == dict.fromkeys(range(1, sender.sent + 1), 1), (sender.sent, counts)
    assert seen(site, "/var/spool/mqueue/qf*") == {}

    # After: the report shows the site patched; a second run has nothing to do.
    after = report(site)
    assert after["summary"]["unpatched"] == [], after["summary"]
    assert sorted(after["summary"]["compliant"]) == sorted(NUMBERS), after["summary"]
    status_before = [relay.sh("stat -c %Y /var/lib/dpkg/status") for relay in relays]
    _, again = patch_relays(site)
    assert [(r["result"], r["comment"]) for r in again["relays"]] == [
        (True, f"up to date ({fixed_version})") for _ in RELAYS
    ]
    assert [relay.sh("stat -c %Y /var/lib/dpkg/status") for relay in relays] == status_before
