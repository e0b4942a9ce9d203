"""The fleet view's pure parts: the runner's classification, the outputter's table, the beacon's diff."""

import importlib.util
import pathlib

import pytest
import yaml
from salt.exceptions import SaltInvocationError

REPO = pathlib.Path(__file__).resolve().parents[2]


def load(relative):
    spec = importlib.util.spec_from_file_location(relative.replace("/", "_")[:-3], REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = load("_runners/sendmail.py")
outputter = load("_output/sendmail_report.py")
beacon = load("_beacons/sendmail.py")

LISTENER = {
    "id": "exposed-listener",
    "severity": "high",
    "message": "sendmail listens on 0.0.0.0 port 25",
}


def status(role, findings=(), provider="sendmail"):
    return {"role": role, "provider": provider, "version": "8.17.1.9", "findings": list(findings),
            "listeners": [], "daemons": [], "queues": {}}  # fmt: skip


def test_report_sorts_every_minion_into_one_summary_list():
    returns = {
        "relay": {"sendmail.status": status("server", [LISTENER]), "sendmail.settings": {"role": "server"}},
        "client": {"sendmail.status": status("client"), "sendmail.settings": {"role": "client"}},
        "drifted": {"sendmail.status": status("server", [LISTENER]), "sendmail.settings": {"role": "client"}},
        "postfix": {"sendmail.status": status("unknown", provider="postfix"), "sendmail.settings": {"role": "client"}},
        "nopillar": {"sendmail.status": status("client"), "sendmail.settings": "ERROR: sendmail:role: None"},
        "nomodule": "'sendmail.status' is not available.",
    }  # fmt: skip
    report = runner._summarize([*returns, "gone"], returns)
    assert report["summary"] == {
        "compliant": ["client", "relay"],
        "drifted": ["drifted", "nomodule", "nopillar"],
        "unreachable": ["gone"],
        "not_sendmail": ["postfix"],
    }
    assert report["retcode"] == 1
    assert report["minions"]["drifted"]["findings"] == [LISTENER]
    assert report["minions"]["nopillar"]["problem"].startswith("pillar: ERROR")
    assert report["minions"]["gone"]["problem"] == "did not answer"
    table = outputter.output(report)
    assert table.splitlines()[0].split() == ["minion", "state", "expected", "observed", "version", "why"]
    [line] = [line for line in table.splitlines() if line.startswith("drifted ")]
    assert line.split()[:4] == ["drifted", "drifted", "client", "server"]
    assert "exposed-listener: sendmail listens on 0.0.0.0 port 25" in line
    assert table.splitlines()[-1] == "compliant: 2  drifted: 3  unreachable: 1  not sendmail: 1"
    # A relay's own listener is its role: its row says nothing is wrong.
    [relay] = [line for line in table.splitlines() if line.startswith("relay ")]
    assert relay.split() == ["relay", "compliant", "server", "server", "8.17.1.9"]


def test_the_table_says_each_kind_of_finding_once():
    on_587 = {**LISTENER, "message": "sendmail listens on 0.0.0.0 port 587"}
    returns = {"c": {"sendmail.status": status("server", [LISTENER, on_587]),
                     "sendmail.settings": {"role": "client"}}}  # fmt: skip
    [row] = outputter.output(runner._summarize(["c"], returns)).splitlines()[1:2]
    assert row.endswith("exposed-listener: sendmail listens on 0.0.0.0 port 25 (+1 more)")


def test_an_all_compliant_report_returns_zero():
    returns = {"c": {"sendmail.status": status("client"), "sendmail.settings": {"role": "client"}}}
    assert runner._summarize(["c"], returns)["retcode"] == 0


def test_the_beacon_reports_only_what_changed():
    checks = ["listeners", "daemons", "runners", "findings"]
    quiet = {**status("client"), "queues": {"mta": {"runners": []}, "msp": {"runners": [{"type": "daemon"}]}},
             "daemons": [{"kind": "msp-queue-runner"}]}  # fmt: skip
    started = {**quiet, "listeners": [{"address": "0.0.0.0", "port": 25}], "findings": [LISTENER],
               "daemons": [*quiet["daemons"], {"kind": "mta"}]}  # fmt: skip
    before, after = beacon._snapshot(checks, quiet), beacon._snapshot(checks, started)
    changed = {check for check in checks if before[check] != after[check]}
    assert changed == {"listeners", "daemons", "findings"}
    assert after["listeners"] == ["0.0.0.0:25"]
    assert after["daemons"] == ["msp-queue-runner", "mta"]


@pytest.mark.parametrize(
    ("config", "valid"),
    [
        ([{"interval": 60}], True),
        ([{"checks": ["listeners", "cf"]}, {"emit_at_startup": True}], True),
        ([{"checks": ["listeners", "queues"]}], False),
        ([{"emit_at_startup": "yes"}], False),
        ([{"interval": 0}], False),
        ([{"interval": "60"}], False),
        ([{"intervall": 60}], False),
        ([{"interval": 5}, {"disable_during_state_run": True}, {"_beacon_name": "sendmail"}], True),
        ("interval", False),
    ],
)
def test_the_beacon_validates_its_configuration(config, valid):
    assert beacon.validate(config)[0] is valid


@pytest.mark.parametrize("configured", [None, 2])
def test_the_beacon_checks_every_call_salt_spaces_else_every_60_seconds(configured, monkeypatch):
    # Salt strips `interval` from what it passes, and without one calls a beacon every
    # loop_interval (1 s): the beacon then spaces its own checks.
    calls = []
    beacons = {"sendmail": [{"interval": configured}] if configured else [{"checks": ["listeners"]}]}
    monkeypatch.setattr(beacon, "__opts__", {"beacons": {}}, raising=False)
    monkeypatch.setattr(beacon, "__context__", {}, raising=False)
    monkeypatch.setattr(beacon, "__salt__", {
        "config.merge": lambda key, default, omit_opts: beacons,
        "sendmail.lookup": lambda: {"sendmail_cf": "/nonexistent", "submit_cf": "/nonexistent"},
        "sendmail.listeners": lambda: calls.append("listeners") or [],
    }, raising=False)  # fmt: skip
    clock = iter([1000.0, 1001.0, 1059.0, 1061.0])
    monkeypatch.setattr(beacon.time, "monotonic", lambda: next(clock))
    for _ in range(4):
        beacon.beacon([{"checks": ["listeners"]}, {"_beacon_name": "sendmail"}])
    assert len(calls) == (4 if configured else 2)


def test_the_beacon_configuration_in_pillar_example_is_valid():
    config = yaml.safe_load((REPO / "pillar.example").read_text())["beacons"]["sendmail"]
    assert beacon.validate(config) == (True, "valid sendmail beacon configuration")


@pytest.mark.parametrize(
    ("pillar_role", "observed", "findings", "drifted"),
    [
        ("client", "server", [LISTENER], True),
        ("server", "server", [LISTENER], False),  # a relay's own listener is its role
        ("client", "client", [], False),
        (None, "server", [LISTENER], False),  # no sendmail pillar: nothing to compare with
    ],
)
def test_the_beacon_judges_drift_as_the_report_does(
    monkeypatch, pillar_role, observed, findings, drifted
):
    def settings():
        if pillar_role is None:
            raise SaltInvocationError("sendmail:role: None")
        return {"role": pillar_role}

    monkeypatch.setattr(beacon, "__salt__", {"sendmail.settings": settings}, raising=False)
    judged = beacon._judgement(status(observed, findings))
    assert judged == {"role": observed, "expected": pillar_role, "drifted": drifted}
    if pillar_role:
        returns = {"m": {"sendmail.status": status(observed, findings), "sendmail.settings": settings()}}
        assert runner._summarize(["m"], returns)["minions"]["m"]["compliant"] is not drifted
