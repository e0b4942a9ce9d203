"""The findings submodule through its public names (saltext.sendmail.shared.findings)."""

from saltext.sendmail.shared import findings


def test_hostname_qualified():
    assert findings.hostname_qualified("box.example.test", "")
    assert findings.hostname_qualified("box", "127.0.1.1 box.example.test box\n")
    assert not findings.hostname_qualified("box", "127.0.0.1 localhost\n127.0.1.1 box\n")


def test_a_refusing_mta_is_a_medium_finding_with_sendmails_reason():
    report = {
        "daemons": [
            {"pid": 7, "kind": "mta", "refusing": {"daemon": "MTA-v4", "reason": "load average: 64"}}
        ]
    }
    [finding] = findings.mta_refusing(report, 86400)
    assert (finding["id"], finding["severity"]) == ("mta-refusing", "medium")
    assert "load average: 64" in finding["message"]


def test_roots_mail_handed_back_to_a_host_where_nothing_listens_is_unrouted():
    route = {
        "address": "root@client1.example.test",
        "handed_to": "[198.51.100.11]",
        "masquerade": None,
        "returns_here": True,
    }
    [finding] = findings.local_mail_unrouted({"local_mail": route, "exposed": False}, 86400)
    assert (finding["id"], finding["severity"]) == ("local-mail-unrouted", "high")
    assert "sendmail:sites:SITE:masquerade_as" in finding["message"]
    masqueraded = {
        **route,
        "address": "root@example.test",
        "masquerade": "example.test",
        "returns_here": False,
    }
    assert findings.local_mail_unrouted({"local_mail": masqueraded, "exposed": False}, 86400) == []
    local = {**route, "handed_to": "this host", "returns_here": False}
    assert findings.local_mail_unrouted({"local_mail": local, "exposed": False}, 86400) == []


def test_patch_findings_are_high_on_a_host_that_listens_and_medium_elsewhere():
    package = {"name": "sendmail-bin", "version": "8.17.1.9-2", "candidate": "8.17.1.9-3"}
    report = {
        "version": "8.17.1.9",
        "package": package,
        "advisories": {"open": ["CVE-2023-51765"], "fixed": []},
        "exposed": True,
        "held_listeners": [],
    }
    [pending] = findings.security_update_pending(report, 86400)
    [advisory] = findings.advisory_open(report, 86400)
    assert (pending["severity"], advisory["severity"]) == ("high", "high")
    assert "8.17.1.9-3 is offered" in pending["message"] and "CVE-2023-51765" in advisory["message"]
    client = {**report, "exposed": False}
    assert findings.security_update_pending(client, 86400)[0]["severity"] == "medium"
    patched = {
        **report,
        "package": {**package, "candidate": None},
        "advisories": {"open": [], "fixed": []},
    }
    assert (
        findings.security_update_pending(patched, 86400) == findings.advisory_open(patched, 86400) == []
    )
