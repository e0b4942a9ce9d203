"""The drift beacon (_beacons/sendmail.py), called as Salt calls it, with the module's real rules."""

import pytest
import yaml

from saltext.sendmail.shared import fleet_report, judgement, schema
from tests.unit.support import REPO, load

beacon = load("_beacons/sendmail.py")
SITES = {"a": {"relays": ["[198.51.100.11]"]}}
LISTENER = {
    "id": "exposed-listener",
    "severity": "high",
    "message": "sendmail listens on 0.0.0.0 port 25",
}


def status(role, findings=(), provider="sendmail", listening=False):
    return {
        "role": role,
        "provider": provider,
        "version": "8.17.1.9",
        "findings": list(findings),
        "listeners": [{"address": "0.0.0.0", "port": 25}] if listening else [],
        "daemons": [{"kind": "msp-queue-runner"}] + ([{"kind": "mta"}] if listening else []),
        "queues": {"mta": {"runners": []}, "msp": {"runners": [{"type": "daemon"}]}},
    }


@pytest.fixture
def host(monkeypatch, tmp_path):
    """A minion for the beacon: its status (changeable) and its pillar's role, and a fake clock."""
    state = {"status": status("client"), "role": "client", "now": 1000.0}

    def compliance(report=None):
        config = {"sites": SITES, **({"role": state["role"]} if state["role"] else {})}
        return judgement.for_config(report or state["status"], config, {"site": "a"})

    monkeypatch.setattr(beacon, "__opts__", {"beacons": {}}, raising=False)
    monkeypatch.setattr(beacon, "__context__", {}, raising=False)
    monkeypatch.setattr(
        beacon,
        "__salt__",
        {
            "sendmail.lookup": lambda: {
                "sendmail_cf": str(tmp_path / "no.cf"),
                "submit_cf": str(tmp_path / "no.cf"),
            },
            "sendmail.status": lambda: state["status"],
            "sendmail.listeners": lambda: state["status"]["listeners"],
            "sendmail.compliance": compliance,
            # What the execution module's sendmail.validate runs.
            "sendmail.validate": lambda config, part: schema.problems_of(part, config),
        },
        raising=False,
    )
    monkeypatch.setattr(beacon.time, "monotonic", lambda: state["now"])
    return state


CONFIG = [{"checks": ["listeners", "daemons", "runners", "findings"]}, {"_beacon_name": "sendmail"}]


def salt_calls(config, interval=2):
    """What Salt's beacon loop does each time: validate the whole configuration (with its
    interval), then call the beacon with the interval taken out."""
    whole = [*config, {"interval": interval}] if interval else list(config)
    assert beacon.validate([item for item in whole if "_beacon_name" not in item])[0] is True
    return beacon.beacon(config)


def test_nothing_fires_until_something_changes_then_only_what_changed(host):
    assert salt_calls(CONFIG) == []  # the first look: what it compares with
    assert salt_calls(CONFIG) == []
    host["status"] = status("server", [LISTENER], listening=True)
    [event] = salt_calls(CONFIG)
    assert set(event["changes"]) == {"listeners", "daemons", "findings"}
    assert event["changes"]["listeners"] == {"old": [], "new": ["0.0.0.0:25"]}
    assert (event["role"], event["expected"], event["verdict"], event["drifted"]) == (
        "server",
        "client",
        "drifted",
        True,
    )


@pytest.mark.parametrize(
    ("pillar_role", "provider", "verdict"),
    [
        ("client", "sendmail", "drifted"),
        ("server", "sendmail", "compliant"),
        (None, "sendmail", "unmanaged"),
        ("client", "postfix", "not_sendmail"),
    ],
)
def test_the_event_carries_the_one_judgement_and_drifted_only_for_a_managed_sendmail_host(
    host, pillar_role, provider, verdict
):
    host["role"] = pillar_role
    salt_calls(CONFIG)
    host["status"] = status("server", [LISTENER], provider=provider, listening=True)
    [event] = salt_calls(CONFIG)
    assert event["verdict"] == verdict
    assert event["drifted"] is (verdict == "drifted")
    # The report's runner says the same of the same minion.
    answer = judgement.for_config(
        host["status"], {"sites": SITES, **({"role": pillar_role} if pillar_role else {})}, {"site": "a"}
    )
    assert verdict in [
        kind for kind, ids in fleet_report.summarize(["m"], {"m": answer})["summary"].items() if ids
    ]


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
        ([{"interval": 60}, "checks: [cf]"], False),
    ],
)
def test_the_beacon_validates_its_configuration(host, config, valid):
    assert beacon.validate(config)[0] is valid


def test_a_setting_that_is_not_a_mapping_is_refused_naming_it(host):
    assert beacon.validate([{"interval": 60}, "checks: [cf]"]) == (
        False,
        "the sendmail beacon's settings are mappings (- interval: 60), not 'checks: [cf]'",
    )


def test_a_typo_in_the_beacons_settings_names_the_setting_meant(host):
    assert beacon.validate([{"intervall": 60}]) == (
        False,
        "beacons:sendmail:intervall: unknown key; did you mean interval?",
    )


def test_the_beacon_configuration_in_pillar_example_is_valid(host):
    config = yaml.safe_load((REPO / "pillar.example").read_text())["beacons"]["sendmail"]
    assert beacon.validate(config) == (True, "valid sendmail beacon configuration")


def test_the_beacons_default_checks_are_the_schemas():
    assert beacon.CHECKS == schema.BEACON_CHECKS


@pytest.mark.parametrize("configured", [None, 2])
def test_the_beacon_checks_every_call_salt_spaces_else_every_60_seconds(host, configured):
    # Salt strips `interval` from what it passes, and without one calls a beacon every
    # loop_interval (1 s): the beacon then spaces its own checks. It learns the interval from
    # the validate call Salt makes right before each call (beacons.add leaves no other trace).
    calls = []
    beacon.__salt__["sendmail.listeners"] = lambda: calls.append("listeners") or []
    for now in (1000.0, 1001.0, 1059.0, 1061.0):
        host["now"] = now
        salt_calls([{"checks": ["listeners"]}, {"_beacon_name": "sendmail"}], interval=configured)
    assert len(calls) == (4 if configured else 2)
