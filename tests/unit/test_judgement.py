"""The judgement submodule (saltext.sendmail.shared.judgement): the fleet's one rule, every case."""

import pytest

import saltext.sendmail
from saltext.sendmail.shared import fleet_report, judgement

LISTENER = {"id": "exposed-listener", "severity": "high", "message": "sendmail listens on 0.0.0.0:25"}
STRANDED = {"id": "queue-stranded", "severity": "high", "message": "3 message(s) and no runner"}
OLD = {"id": "queue-old-message", "severity": "medium", "message": "the oldest is 30 h old"}
UNREACHABLE = {"id": "relay-unreachable", "severity": "high", "message": "5 message(s) wait"}
DISK = {"id": "queue-disk-low", "severity": "medium", "message": "near MinFreeBlocks"}
PENDING = {"id": "security-update-pending", "severity": "high", "message": "8.17.1.9-3 is offered"}
ADVISORY = {"id": "advisory-open", "severity": "medium", "message": "CVE-2023-51765"}
INTERRUPTED = {"id": "run-interrupted", "severity": "high", "message": "a run did not finish"}
SITES = {"a": {"relays": ["[198.51.100.11]"], "relay_domains": ["example.test"]}}
GRAINS = {"site": "a"}


def status(role, findings=(), provider="sendmail", hand_made=()):
    return {
        "role": role,
        "provider": provider,
        "version": "8.17.1.9",
        "findings": list(findings),
        "hand_made_mc": {"path": "/etc/mail/sendmail.mc", "dropped": list(hand_made)},
    }


def config(role):
    """A site's pillar; role None: the common pillar only (what an unmanaged host gets)."""
    return {"sites": SITES, **({"role": role} if role else {})}


# (provider, pillar's role, observed role, findings) and the verdict the docs' rule gives, written
# out: each branch of the rule, and the order between them.
CASES = [
    ("postfix", "client", "unknown", (), "not_sendmail"),
    ("none", None, "off", (), "not_sendmail"),
    ("sendmail", None, "server", (LISTENER,), "unmanaged"),
    ("sendmail", "client", "client", (), "compliant"),
    ("sendmail", "client", "client", (OLD,), "compliant"),  # a medium finding does not count
    ("sendmail", "client", "server", (), "drifted"),  # the role differs
    ("sendmail", "server", "local-only", (), "drifted"),
    ("sendmail", "client", "client", (LISTENER,), "drifted"),  # a high finding counts
    ("sendmail", "server", "server", (LISTENER,), "compliant"),  # a relay listens on purpose
    ("sendmail", "server", "server", (LISTENER, STRANDED), "drifted"),
    ("sendmail", "client", "client", (UNREACHABLE,), "at_risk"),
    ("sendmail", "client", "client", (DISK, OLD), "at_risk"),  # mail at risk counts at any severity
    ("sendmail", "server", "server", (DISK,), "at_risk"),
    ("sendmail", "client", "client", (UNREACHABLE, STRANDED), "drifted"),  # drift comes first
    ("sendmail", "client", "off", (UNREACHABLE,), "drifted"),
    # A missing fix is the rolling patch's, not a role run's: never drift, and never the reactor.
    ("sendmail", "server", "server", (LISTENER, PENDING), "needs_patch"),
    ("sendmail", "client", "client", (ADVISORY,), "compliant"),  # medium: off the network
    ("sendmail", "server", "server", (PENDING, DISK), "at_risk"),  # mail at risk comes first
    ("sendmail", "server", "local-only", (PENDING,), "drifted"),  # the role run fixes the role
    ("sendmail", "client", "client", (INTERRUPTED,), "drifted"),  # a role run heals it
]


@pytest.mark.parametrize(("provider", "pillar_role", "observed", "findings", "verdict"), CASES)
def test_each_case_gets_the_verdict_the_rule_gives(provider, pillar_role, observed, findings, verdict):
    judged = judgement.for_config(status(observed, findings, provider), config(pillar_role), GRAINS)
    assert judged["verdict"] == verdict
    assert judged["observed"] == observed
    if verdict in ("compliant", "at_risk", "drifted"):
        assert judged["expected"] == pillar_role
        # What counts and what does not, together, are all the findings.
        assert sorted(map(str, judged["findings"] + judged["other_findings"])) == sorted(
            map(str, findings)
        )


def test_a_relays_own_listener_is_its_role_but_a_stranded_queue_is_not():
    relay = judgement.for_config(status("server", [LISTENER, STRANDED]), config("server"), GRAINS)
    assert relay["verdict"] == "drifted"
    assert relay["findings"] == [STRANDED]
    assert relay["other_findings"] == [LISTENER]


def test_a_postfix_host_with_a_sendmail_pillar_is_not_sendmail_never_drifted():
    verdict = judgement.for_config(status("unknown", provider="postfix"), config("client"), GRAINS)
    assert (verdict["verdict"], verdict["problem"]) == ("not_sendmail", "the MTA here is postfix")


def test_a_wrong_pillar_is_misconfigured_with_the_key_that_is_wrong():
    # A role run would fail on it: a person fixes the pillar, the reactor leaves it alone.
    typo = {**config("client"), "msp_intervall": "5m"}
    verdict = judgement.for_config(status("client"), typo, GRAINS)
    assert verdict["verdict"] == "misconfigured"
    assert (
        verdict["problem"] == "pillar: sendmail:msp_intervall: unknown key; did you mean msp_interval?"
    )


def test_a_mistyped_role_key_does_not_hide_a_host_as_unmanaged():
    verdict = judgement.for_config(status("client"), {"sites": SITES, "rol": "client"}, GRAINS)
    assert verdict["verdict"] == "misconfigured"
    assert "did you mean role?" in verdict["problem"]


def test_a_client_without_a_site_is_misconfigured_naming_the_key():
    verdict = judgement.for_config(status("client"), config("client"), {})
    assert verdict["verdict"] == "misconfigured"
    assert verdict["problem"].startswith("pillar: sendmail:site: no site")


def test_a_relay_whose_mc_was_written_by_hand_is_misconfigured_until_pillar_says():
    lost = ["FEATURE(`mailertable', `hash -o /etc/mail/mailertable.db')dnl"]
    relay = status("server", [LISTENER], hand_made=lost)
    verdict = judgement.for_config(relay, config("server"), GRAINS)
    assert verdict["verdict"] == "misconfigured"
    assert verdict["problem"].startswith("/etc/mail/sendmail.mc was written by hand")
    allowed = {**config("server"), "replace_hand_made": True}
    assert judgement.for_config(relay, allowed, GRAINS)["verdict"] == "compliant"
    # A client's role does not keep relay features: it is not held back.
    assert judgement.for_config(status("client", hand_made=lost), config("client"), GRAINS)[
        "verdict"
    ] == ("compliant")


def test_only_drift_is_the_reactors():
    assert judgement.REACTOR == "drifted"
    assert set(judgement.NEEDS_ACTION) == set(judgement.VERDICTS) - {
        "compliant",
        "unmanaged",
        "not_sendmail",
    }


def test_every_verdict_the_judgement_names_is_one_it_gives():
    seen = {
        judgement.for_config(status(observed, findings, provider), config(role), GRAINS)["verdict"]
        for provider, role, observed, findings, _ in CASES
    }
    seen.add(judgement.for_config(status("client"), {**config("client"), "x": 1}, GRAINS)["verdict"])
    assert seen == set(judgement.VERDICTS)


def test_a_client_playing_its_role_with_its_relays_down_is_at_risk_not_drifted():
    verdict = judgement.for_config(status("client", [UNREACHABLE, OLD]), config("client"), GRAINS)
    assert verdict["verdict"] == "at_risk"
    assert verdict["findings"] == [UNREACHABLE] and verdict["other_findings"] == [OLD]


def test_a_relay_whose_pillar_asks_dkim_and_that_does_not_sign_has_drifted():
    site = {"relays": ["[198.51.100.11]"], "masquerade_as": "example.com", "dkim": {"selector": "s1"}}
    config = {"role": "server", "sites": {"a": site}}
    key = {"selector": "s1-relay1", "domain": "example.com"}
    signing = {"role": "server", "provider": "sendmail", "findings": []}
    signing.update(dkim={"keys": [key]}, milters=[{"name": "opendkim", "answers": True}])
    assert judgement.for_config(signing, config, {"site": "a"})["verdict"] == "compliant"
    for status in (
        {**signing, "dkim": None},
        {**signing, "milters": []},
        {**signing, "dkim": {"keys": [{**key, "selector": "s0-relay1"}]}},
    ):
        judged = judgement.for_config(status, config, {"site": "a"})
        assert judged["verdict"] == "drifted", judged
        assert [f["id"] for f in judged["findings"]] == ["dkim-not-signing"]


def test_the_verdict_carries_this_extensions_version_for_a_mixed_fleet():
    verdict = judgement.judge({"provider": "sendmail", "role": "client"}, False)
    assert verdict["extension"] == saltext.sendmail.__version__
    entry, _ = fleet_report.entry(verdict | {"verdict": "unmanaged"})
    assert entry["extension"] == saltext.sendmail.__version__
