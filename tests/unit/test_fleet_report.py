"""``salt-run sendmail.report``: the report (saltext.sendmail.shared.fleet_report) and its table (_output)."""

import dns.resolver

from saltext.sendmail.shared import fleet_report, judgement
from tests.unit.support import load

outputter = load("_output/sendmail_report.py")

LISTENER = {
    "id": "exposed-listener",
    "severity": "high",
    "message": "sendmail listens on 0.0.0.0 port 25",
}
SITES = {"a": {"relays": ["[198.51.100.11]"]}}


PENDING = {
    "id": "security-update-pending",
    "severity": "high",
    "message": "sendmail-bin 8.17.1.9-2 is installed and 8.17.1.9-3 is offered",
}
PACKAGE = {"name": "sendmail-bin", "version": "8.17.1.9-2", "candidate": None}
UNREACHABLE = {
    "id": "relay-unreachable",
    "severity": "high",
    "message": "5 message(s) wait in the MSP queue for a relay that cannot be reached",
}


def answer(observed, role=None, findings=(), provider="sendmail", extra=None, package=PACKAGE):
    """What sendmail.compliance returns on a minion with this pillar role and this status."""
    status = {
        "role": observed,
        "provider": provider,
        "version": "8.17.1.9",
        "findings": list(findings),
        "package": package,
        "advisories": {"open": [], "fixed": ["CVE-2023-51765"]},
    }
    config = {"sites": SITES, **({"role": role} if role else {}), **(extra or {})}
    return judgement.for_config(status, config, {"site": "a"})


RETURNS = {
    "relay": answer("server", "server", [LISTENER]),
    "relay2": answer(
        "server", "server", [LISTENER, PENDING], package={**PACKAGE, "candidate": "8.17.1.9-3"}
    ),
    "client": answer("client", "client"),
    "weekend": answer("client", "client", [UNREACHABLE]),
    "drifted": answer("server", "client", [LISTENER]),
    "postfix": answer("unknown", "client", provider="postfix"),
    "unmanaged": answer("server", None, [LISTENER]),
    "typo": answer("client", "client", extra={"msp_intervall": "5m"}),
    "nomodule": "'sendmail.compliance' is not available.",
    "killed": "Minion did not return. [Not connected]",
    "silent": False,  # Salt 3006: a minion the job expected and never heard from
}


def test_report_sorts_every_minion_by_its_verdict():
    report = fleet_report.summarize([*RETURNS, "gone"], RETURNS)
    assert report["summary"] == {
        "compliant": ["client", "relay"],
        "at_risk": ["weekend"],
        "needs_patch": ["relay2"],
        "drifted": ["drifted", "nomodule"],
        "misconfigured": ["typo"],
        "unmanaged": ["unmanaged"],
        "unreachable": ["gone", "killed", "silent"],
        "not_sendmail": ["postfix"],
        "unpatched": ["relay2"],
    }
    assert report["retcode"] == 1
    # A relay with an update pending: needs_patch (not a role run's to fix), listed as unpatched,
    # the package shown.
    assert report["minions"]["relay2"]["findings"] == [PENDING]
    assert report["minions"]["relay2"]["package"]["candidate"] == "8.17.1.9-3"
    assert report["minions"]["drifted"]["findings"] == [LISTENER]
    assert report["minions"]["typo"]["problem"].endswith("did you mean msp_interval?")
    assert report["minions"]["killed"]["problem"] == "Minion did not return. [Not connected]"
    assert report["minions"]["gone"]["problem"] == "did not answer"
    assert report["minions"]["silent"]["problem"] == "did not answer"
    assert report["minions"]["nomodule"]["problem"].startswith("sendmail.compliance failed")


def test_the_table_shows_why_and_counts_every_list():
    table = outputter.output(fleet_report.summarize([*RETURNS, "gone"], RETURNS))
    lines = table.splitlines()
    assert lines[0].split() == ["minion", "state", "expected", "observed", "package", "why"]
    [line] = [line for line in lines if line.startswith("drifted ")]
    assert line.split()[:4] == ["drifted", "drifted", "client", "server"]
    assert "exposed-listener: sendmail listens on 0.0.0.0 port 25" in line
    [unmanaged] = [line for line in lines if line.startswith("unmanaged ")]
    assert "no sendmail:role in its pillar" in unmanaged
    # A relay's own listener is its role: its row says nothing is wrong.
    [relay] = [line for line in lines if line.startswith("relay ")]
    assert relay.split() == ["relay", "compliant", "server", "server", "8.17.1.9-2"]
    [relay2] = [line for line in lines if line.startswith("relay2 ")]
    assert relay2.split()[:6] == [
        "relay2",
        "needs",
        "patch",
        "server",
        "server",
        "8.17.1.9-2->8.17.1.9-3",
    ]
    assert "security-update-pending" in relay2
    assert lines[-1] == (
        "compliant: 2  at risk: 1  needs patch: 1  drifted: 2  misconfigured: 1  unmanaged: 1  "
        "not sendmail: 1  unreachable: 3  unpatched: 1"
    )


def test_the_table_says_each_kind_of_finding_once():
    on_587 = {**LISTENER, "message": "sendmail listens on 0.0.0.0 port 587"}
    returns = {"c": answer("server", "client", [LISTENER, on_587])}
    [row] = outputter.output(fleet_report.summarize(["c"], returns)).splitlines()[1:2]
    assert row.endswith("exposed-listener: sendmail listens on 0.0.0.0 port 25 (+1 more)")


def test_mail_at_risk_alone_makes_the_exit_code_one():
    returns = {key: RETURNS[key] for key in ("client", "weekend")}
    assert fleet_report.summarize(list(returns), returns)["retcode"] == 1


def test_unmanaged_and_other_mtas_leave_the_exit_code_at_zero():
    returns = {key: RETURNS[key] for key in ("client", "relay", "unmanaged", "postfix")}
    assert fleet_report.summarize(list(returns), returns)["retcode"] == 0


def test_every_verdict_of_the_judgement_is_a_list_of_the_report_and_sets_its_exit_code():
    # The report reads the judgement's verdicts: a verdict added there is a list here, and a
    # minion that answers with it is counted in it (a copy of the list in the report would drop it).
    for verdict in judgement.VERDICTS:
        report = fleet_report.summarize(["m"], {"m": {"verdict": verdict}})
        assert report["summary"][verdict] == ["m"]
        assert report["retcode"] == (1 if verdict in judgement.NEEDS_ACTION else 0), verdict
    assert list(report["summary"]) == [*judgement.VERDICTS, "unreachable", "unpatched"]


def signing_relay(public_addresses=None):
    """A compliant relay of site a that signs: its keys and addresses as compliance returns them."""
    key = {"domain": "example.com", "selector": "s1-r1", "name": "s1-r1._domainkey.example.com"}
    key.update(value="v=DKIM1; k=rsa; p=AAAA", strings=["v=DKIM1; k=rsa; p=AAAA"])
    status = {
        "role": "server",
        "provider": "sendmail",
        "findings": [],
        "dkim": {"keys": [key], "next": []},
        "addresses": ["198.51.100.11"],
    }
    site = {"relays": ["[198.51.100.11]"], "relay_domains": ["example.com"]}
    if public_addresses:
        site["public_addresses"] = public_addresses
    return judgement.for_config(status, {"role": "server", "sites": {"a": site}}, {"site": "a"})


class Records:
    """dnspython's resolver over fixed TXT records (the real one against NSD: tests/functional)."""

    def __init__(self, texts):
        self.texts = texts

    def resolve(self, name, kind, **_):
        if name not in self.texts:
            raise dns.resolver.NXDOMAIN
        return [type("R", (), {"strings": [text.encode()]})() for text in self.texts[name]]


def test_a_signing_relay_whose_record_is_missing_is_at_risk_and_its_site_told_what_to_publish(
    monkeypatch,
):
    monkeypatch.setattr(fleet_report.dns_records, "resolver", lambda servers, timeout: Records({}))
    report = fleet_report.with_dns(fleet_report.summarize(["relay"], {"relay": signing_relay()}))
    assert report["summary"]["at_risk"] == ["relay"] and report["summary"]["compliant"] == []
    assert [f["id"] for f in report["minions"]["relay"]["findings"]] == [
        "dkim-record-missing",
        "spf-relay-not-allowed",
        "dmarc-missing",
    ]
    assert report["retcode"] == 1
    names = [record["name"] for record in report["records"]["a"]["records"]]
    assert names == ["s1-r1._domainkey.example.com", "example.com", "_dmarc.example.com"]


def test_a_signing_relay_whose_records_are_published_stays_compliant(monkeypatch):
    texts = {
        "s1-r1._domainkey.example.com": ["v=DKIM1; k=rsa; p=AAAA"],
        "example.com": ["v=spf1 ip4:203.0.113.7 -all"],
        "_dmarc.example.com": ["v=DMARC1; p=none"],
    }
    monkeypatch.setattr(fleet_report.dns_records, "resolver", lambda servers, timeout: Records(texts))
    # Behind NAT: the pillar's public address is the one SPF must allow.
    report = fleet_report.with_dns(
        fleet_report.summarize(["relay"], {"relay": signing_relay(["203.0.113.7"])})
    )
    assert report["summary"]["compliant"] == ["relay"] and report["retcode"] == 0
    assert [record["published"] for record in report["records"]["a"]["records"]] == [True, True, True]


def test_without_dnspython_on_the_master_the_records_are_listed_not_judged(monkeypatch):
    monkeypatch.setattr(fleet_report.dns_records, "resolver", lambda servers, timeout: None)
    report = fleet_report.with_dns(fleet_report.summarize(["relay"], {"relay": signing_relay()}))
    assert report["summary"]["compliant"] == ["relay"]
    assert "no dnspython" in report["records"]["a"]["unanswered"][0]


def test_a_fleet_without_signing_relays_looks_nothing_up(monkeypatch):
    monkeypatch.setattr(fleet_report.dns_records, "resolver", lambda *_: 1 / 0)
    report = fleet_report.with_dns(fleet_report.summarize(["c"], {"c": answer("client", "client")}))
    assert report["records"] == {}
