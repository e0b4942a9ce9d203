"""
Prometheus metrics on the fleet (docs, "Prometheus metrics and alerts"): pillar's
sendmail:metrics and the formula's sendmail.metrics SLS on the three real minions; Debian's
prometheus-node-exporter running inside each host's namespaces on its textfile directory, scraped
over HTTP; Debian's prometheus scraping them with the shipped alert rules, asked over its API. Runs
last in tests/fleet (it restarts a minion), the tests in order.
"""

import copy
import json
import pathlib
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

import pytest
import yaml

from saltext.sendmail.shared import judgement
from tests.fleet.conftest import COMMON_PILLAR, FLEET_REPORT_SECONDS
from tests.fleet.test_fleet import highstate, listens, relay_recipients, send, wait_for
from tests.support.netns import NETWORK
from tests.support.prometheus import NODE_EXPORTER, PROMETHEUS, promtool, samples

MINIONS = {"relay1-a": 11, "client-a": 12, "client-b": 13}
# Each host's own /var/lib/sendmail (scripts/host-run): never this machine's node_exporter directory.
TEXTFILE_DIR = "/var/lib/sendmail/textfile"
INTERVAL = 2
RULES = (
    pathlib.Path(__file__).resolve().parents[2] / "_utils/saltext/sendmail/prometheus/sendmail.rules.yml"
)


def apply_metrics(fleet, test=False):
    args = ["test=True"] if test else []
    ret = fleet["cli"].run("-L", "state.apply", "sendmail.metrics", *args, minion_tgt=",".join(MINIONS))
    assert set(ret.data) == set(MINIONS), ret.stdout + ret.stderr
    return {minion: next(iter(ret.data[minion].values())) for minion in MINIONS}


def scrape(minion):
    url = f"http://{NETWORK}.{MINIONS[minion]}:9100/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def scraped(minion, name, **labels):
    return samples(scrape(minion)).get((name, tuple(sorted(labels.items()))))


def beacon_of(fleet, minion):
    listed = fleet["cli"].run("beacons.list", "return_yaml=False", minion_tgt=minion).data
    return listed.get("sendmail_metrics") if isinstance(listed, dict) else None


def textfile_exists(fleet, minion):
    return fleet[minion].host(
        "sh", "-c", f"test -e {TEXTFILE_DIR}/sendmail.prom && echo yes", check=False
    )


def start_node_exporters(fleet):
    for minion, number in MINIONS.items():
        fleet[minion].host(
            "sh",
            "-c",
            f"{NODE_EXPORTER} --collector.disable-defaults --collector.textfile "
            f"--collector.textfile.directory={TEXTFILE_DIR} --web.listen-address={NETWORK}.{number}:9100 "
            ">/dev/null 2>&1 </dev/null &",
        )
    for minion, number in MINIONS.items():
        assert wait_for(lambda n=number: listens(f"{NETWORK}.{n}", 9100)), (
            f"no node_exporter on {minion}"
        )


@pytest.fixture(scope="module")
def metrics_pillar(fleet):
    """Pillar asks every host for metrics; each host has its textfile directory. Put back after."""
    for minion in MINIONS:
        fleet[minion].host("mkdir", "-p", TEXTFILE_DIR)
    pillar = copy.deepcopy(COMMON_PILLAR)
    pillar["sendmail"]["metrics"] = {"textfile_dir": TEXTFILE_DIR, "interval": INTERVAL}
    fleet["pillar"].write("common", pillar)
    fleet["cli"].run("-L", "saltutil.refresh_pillar", "wait=True", minion_tgt=",".join(MINIONS))
    yield
    fleet["pillar"].write("common", COMMON_PILLAR)
    fleet["cli"].run("-L", "saltutil.refresh_pillar", "wait=True", minion_tgt=",".join(MINIONS))


def test_the_state_predicts_then_writes_the_file_and_the_beacon_once(fleet, metrics_pillar):
    predicted = apply_metrics(fleet, test=True)
    for minion, result in predicted.items():
        assert result["result"] is None and set(result["changes"]) == {"textfile", "beacon"}, result
        assert not textfile_exists(fleet, minion)  # test=True wrote nothing
        assert beacon_of(fleet, minion) is None
    applied = apply_metrics(fleet)
    for minion, result in applied.items():
        assert result["result"] is True and set(result["changes"]) == {"textfile", "beacon"}, result
        assert textfile_exists(fleet, minion)
        assert {"textfile_dir": TEXTFILE_DIR} in beacon_of(fleet, minion)
    again = apply_metrics(fleet)
    assert {minion: result["changes"] for minion, result in again.items()} == {
        minion: {} for minion in MINIONS
    }


def test_queued_mail_behind_a_dead_relay_is_scraped_as_status_counts_it(fleet, metrics_pillar):
    start_node_exporters(fleet)
    fleet["relay1-a"].host("/etc/init.d/sendmail", "stop")
    recipients = [f"metrics-{uuid.uuid4().hex[:8]}@example.com" for _ in range(3)]
    try:
        for recipient in recipients:
            send(fleet["client-a"], recipient)

        def counted():
            return (
                fleet["cli"].run("sendmail.status", minion_tgt="client-a").data["queues"]["msp"]["count"]
            )

        assert wait_for(lambda: counted() >= 3)
        count = counted()
        # Within one interval (and a margin for a loaded machine) the scrape says the same.
        assert wait_for(
            lambda: scraped("client-a", "sendmail_queue_messages", queue="msp") == count,
            timeout=3 * INTERVAL + 5,
        ), scrape("client-a")
        assert wait_for(
            lambda: scraped("relay1-a", "sendmail_daemon_running", daemon="mta") == 0, timeout=15
        )
    finally:
        fleet["relay1-a"].host("/etc/init.d/sendmail", "start")
    flushed = fleet["cli"].run("sendmail.flush", "msp", minion_tgt="client-a").data
    assert flushed["msp"]["remaining"] == [], flushed
    # The mail the user sent reached the relay, each message once, and the scrape says the queue is empty.
    arrived = relay_recipients(fleet)
    assert [arrived.count(recipient) for recipient in recipients] == [1, 1, 1], arrived
    assert wait_for(lambda: scraped("client-a", "sendmail_queue_messages", queue="msp") == 0, timeout=15)


def test_every_scrape_during_refreshes_parses_and_the_collector_never_errs(fleet, metrics_pillar):
    stamps = set()
    deadline = time.monotonic() + 4 * INTERVAL + 2
    scrapes = 0
    while time.monotonic() < deadline:
        found = samples(scrape("client-b"))  # asserts every line is a sample
        scrapes += 1
        assert found[("node_textfile_scrape_error", ())] == 0
        # Every family of the file, whole: never half a file.
        assert ("sendmail_metrics_timestamp_seconds", ()) in found
        assert len([key for key in found if key[0] == "sendmail_verdict"]) == len(judgement.VERDICTS)
        assert ("sendmail_metrics_interval_seconds", ()) in found
        stamps.add(found[("sendmail_metrics_timestamp_seconds", ())])
    assert scrapes > 20 and len(stamps) >= 2, (scrapes, stamps)  # the file changed under the scrapes


@pytest.fixture(scope="module")
def prometheus(fleet, metrics_pillar):
    """Debian's prometheus on this test network, scraping the three exporters every second."""
    work = tempfile.mkdtemp(prefix="prom-", dir="/tmp")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": "node",
                "static_configs": [
                    {"targets": [f"{NETWORK}.{number}:9100"], "labels": {"minion": minion}}
                    for minion, number in MINIONS.items()
                ],
            }
        ],
    }
    with open(f"{work}/prometheus.yml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={work}/prometheus.yml",
            f"--storage.tsdb.path={work}/data",
            "--web.listen-address=127.0.0.1:9090",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: listens("127.0.0.1", 9090)), "prometheus does not listen"
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", work], check=False)


def query(expression):
    url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_a_hand_made_mta_is_drift_in_a_scrape_and_prometheus_names_the_host(fleet, prometheus):
    fleet["client-a"].host("/usr/sbin/sendmail", "-bd", "-q15m")
    try:
        assert wait_for(lambda: listens(f"{NETWORK}.12")), "the hand-started MTA does not listen"
        assert wait_for(
            lambda: scraped("client-a", "sendmail_verdict", verdict="drifted") == 1,
            timeout=3 * INTERVAL + 5,
        ), scrape("client-a")
        assert scraped("client-a", "sendmail_exposed_listeners") >= 1
        # The finding behind the verdict, as the alert's description points to it.
        assert (
            scraped(
                "client-a", "sendmail_finding", id="exposed-listener", severity="high", counted="true"
            )
            == 1
        )
        assert wait_for(lambda: query('sendmail_verdict{verdict="drifted"} == 1'), timeout=20)
        drifted = query('sendmail_verdict{verdict="drifted"} == 1')
        assert [sample["metric"]["minion"] for sample in drifted] == ["client-a"]
        # One fault, one alert: the drift alert is pending (its for: is 15 minutes) and no other
        # rule holds one; every rule healthy.
        assert wait_for(lambda: _alert_states().get("SendmailHostDrifted") == "pending", timeout=20)
        assert _alert_states() == {"SendmailHostDrifted": "pending"}
        with urllib.request.urlopen("http://127.0.0.1:9090/api/v1/rules", timeout=5) as response:
            rules = [rule for group in json.load(response)["data"]["groups"] for rule in group["rules"]]
        # Every rule of the file, loaded and healthy.
        written = [
            rule["alert"]
            for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]
        ]
        assert sorted(rule["name"] for rule in rules) == sorted(written), rules
        assert {rule["health"] for rule in rules} == {"ok"}, rules
    finally:  # the client role again, even after a failure: the tests after this one need it
        applied = highstate(fleet)
    assert applied.returncode == 0, applied.data
    assert wait_for(lambda: not query('sendmail_verdict{verdict="drifted"} == 1'), timeout=20)


def test_a_relay_lacking_a_fix_raises_one_alert(fleet, prometheus, relay_lacking_a_fix):
    assert wait_for(
        lambda: scraped("relay1-a", "sendmail_verdict", verdict="needs_patch") == 1,
        timeout=3 * INTERVAL + 5,
    ), scrape("relay1-a")
    assert scraped("relay1-a", "sendmail_verdict", verdict="drifted") == 0
    assert wait_for(lambda: _alert_states().get("SendmailHostNeedsPatch") == "pending", timeout=20)
    # One fault, one alert: not also drift, nor a queue alert.
    assert _alert_states() == {"SendmailHostNeedsPatch": "pending"}


def _alert_states():
    with urllib.request.urlopen("http://127.0.0.1:9090/api/v1/alerts", timeout=5) as response:
        return {
            alert["labels"]["alertname"]: alert["state"]
            for alert in json.load(response)["data"]["alerts"]
        }


def test_the_fleet_report_writes_the_masters_textfile(fleet, tmp_path):
    ret = fleet["master"].salt_run_cli(timeout=120).run("sendmail.report", f"textfile_dir={tmp_path}")
    assert ret.data["textfile"] == f"{tmp_path}/sendmail_fleet.prom", ret.stdout
    text = (tmp_path / "sendmail_fleet.prom").read_text()
    assert promtool("check", "metrics", text=text) == (0, "")
    found = samples(text)
    assert found[("sendmail_fleet_minions", (("verdict", "compliant"),))] == 3
    assert found[("sendmail_fleet_minions", (("verdict", "unreachable"),))] == 0
    assert ("sendmail_fleet_queue_messages", (("queue", "msp"), ("site", "site-b"))) in found
    bad = fleet["master"].salt_run_cli(timeout=120).run("sendmail.report", "textfile_dir=/no/such/dir")
    assert "textfile_dir: /no/such/dir is not a directory" in bad.stdout + bad.stderr


def test_the_masters_schedule_keeps_the_fleet_file_fresh(fleet):
    # sendmail-fleet-metrics in the master's schedule (tests/fleet/conftest.py) runs the report.
    path = fleet["master_textfile"] / "sendmail_fleet.prom"

    def taken():
        found = samples(path.read_text()) if path.exists() else {}
        return found.get(("sendmail_fleet_report_timestamp_seconds", ()))

    assert wait_for(lambda: taken() is not None, timeout=3 * FLEET_REPORT_SECONDS + 60), (
        "the master's schedule wrote no sendmail_fleet.prom"
    )
    first = taken()
    # The next report comes within an interval or two (the master's loop sleeps between checks).
    assert wait_for(lambda: taken() > first, timeout=3 * FLEET_REPORT_SECONDS), first
    text = path.read_text()
    assert promtool("check", "metrics", text=text) == (0, "")
    assert (
        sum(value for (name, _), value in samples(text).items() if name == "sendmail_fleet_minions") == 3
    )


def test_the_refresh_survives_a_minion_restart(fleet, metrics_pillar):
    minion = fleet["client-b"]

    def written():
        return float(minion.host("stat", "-c", "%Y", f"{TEXTFILE_DIR}/sendmail.prom"))

    before = written()
    minion.terminate()
    minion.start(start_timeout=120)
    # The beacon is in the minion's beacons.conf: it writes again with nobody applying anything.
    assert wait_for(lambda: written() > before + INTERVAL, timeout=60)
    # The restart took the host's queue runners with it (no init here): the role puts them back.
    assert highstate(fleet).returncode == 0


def test_removing_the_pillar_removes_the_file_and_the_refresh(fleet, metrics_pillar):
    fleet["pillar"].write("common", COMMON_PILLAR)
    fleet["cli"].run("-L", "saltutil.refresh_pillar", "wait=True", minion_tgt=",".join(MINIONS))
    removed = apply_metrics(fleet)
    for minion, result in removed.items():
        assert result["result"] is True and set(result["changes"]) == {"textfile", "beacon"}, result
        assert beacon_of(fleet, minion) is None
    # The beacon is gone, so nothing writes the file again.
    time.sleep(2 * INTERVAL + 1)
    assert not any(textfile_exists(fleet, minion) for minion in MINIONS)
    assert {minion: result["changes"] for minion, result in apply_metrics(fleet).items()} == {
        minion: {} for minion in MINIONS
    }
