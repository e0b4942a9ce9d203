"""The exposition text of shared.metrics, read back and checked by Debian's promtool."""

from saltext.sendmail.shared import fleet_report, judgement, metrics
from tests.support.prometheus import promtool, samples


def test_label_values_are_escaped_and_read_back():
    family = metrics.Family("x_info", "help with \\ and\nnewline").add(1, version='8.17 "odd"\\\n')
    text = metrics.render([family])
    assert text.splitlines()[0] == "# HELP x_info help with \\\\ and\\nnewline"
    assert samples(text) == {("x_info", (("version", '8.17 \\"odd\\"\\\\\\n'),)): 1}
    assert promtool("check", "metrics", text=text)[0] == 0


def test_a_host_without_sendmail_is_not_sendmail_and_has_no_queues():
    status = {"provider": "postfix", "version": None, "queues": {}, "findings": []}
    verdict = judgement.judge(status, True, "client")
    found = samples(metrics.render(metrics.host(status, verdict, 1.5)))
    assert found[("sendmail_verdict", (("verdict", "not_sendmail"),))] == 1
    assert sum(value for (name, _), value in found.items() if name == "sendmail_verdict") == 1
    assert not [key for key in found if key[0] == "sendmail_queue_messages"]
    assert ("sendmail_info", (("provider", "postfix"), ("version", ""))) in found
    assert found[("sendmail_metrics_timestamp_seconds", ())] == 1.5


def test_bytes_too_many_to_count_are_absent_not_zero():
    queue = {
        "count": 20000,
        "bytes": None,
        "oldest_age": 7,
        "runners": [],
        "queue_warn": 1,
        "queue_return": 2,
    }
    status = {"provider": "sendmail", "version": "8.17.1", "queues": {"mta": queue}, "findings": []}
    found = samples(metrics.render(metrics.host(status, judgement.judge(status, False), 0)))
    assert found[("sendmail_queue_messages", (("queue", "mta"),))] == 20000
    assert not [key for key in found if key[0] == "sendmail_queue_bytes"]
    assert found[("sendmail_queue_runner", (("queue", "mta"),))] == 0


def test_missing_fixes_are_counted_only_when_known():
    status = {
        "provider": "sendmail",
        "version": "8.17.1",
        "queues": {},
        "findings": [],
        "advisories": None,
    }
    found = samples(metrics.render(metrics.host(status, judgement.judge(status, False), 0)))
    assert not [key for key in found if key[0] == "sendmail_security_fixes_missing"]
    status["advisories"] = {"open": ["CVE-2023-51765"], "fixed": []}
    found = samples(metrics.render(metrics.host(status, judgement.judge(status, False), 0)))
    assert found[("sendmail_security_fixes_missing", ())] == 1


def test_the_fleet_counts_every_verdict_and_sums_queues_per_site():
    returns = {
        "a1": {"verdict": "compliant", "site": "a", "queues": {"mta": 0, "msp": 4}},
        "a2": {"verdict": "drifted", "site": "a", "queues": {"mta": 1, "msp": 2}, "unpatched": True},
        "b1": {"verdict": "unmanaged", "site": None, "queues": {"mta": 3, "msp": 0}},
        "gone": "Minion did not return. [No response]",
    }
    report = fleet_report.summarize(list(returns), returns)
    text = metrics.render(metrics.fleet(report, 1700000000.0))
    assert promtool("check", "metrics", text=text) == (0, "")
    found = samples(text)
    by_verdict = {
        labels[0][1]: value
        for (name, labels), value in found.items()
        if name == "sendmail_fleet_minions"
    }
    assert by_verdict == {
        **dict.fromkeys(fleet_report.SUMMARY, 0),
        "compliant": 1,
        "drifted": 1,
        "unmanaged": 1,
        "unreachable": 1,
    }
    assert found[("sendmail_fleet_queue_messages", (("queue", "msp"), ("site", "a")))] == 6
    assert found[("sendmail_fleet_queue_messages", (("queue", "mta"), ("site", "")))] == 3
    assert found[("sendmail_fleet_unpatched_minions", ())] == 1
    assert found[("sendmail_fleet_report_timestamp_seconds", ())] == 1700000000


def test_the_fleet_counts_each_sites_dns_findings_and_unanswered_names():
    returns = {
        "r1": {"verdict": "compliant", "site": "a", "queues": {}},
        "r2": {"verdict": "compliant", "site": "a"},
    }
    report = fleet_report.summarize(list(returns), returns)
    report["minions"]["r1"]["findings"] = [
        {"id": "dkim-record-missing", "severity": "high", "message": "x"}
    ]
    report["minions"]["r2"]["findings"] = [
        {"id": "dkim-record-missing", "severity": "high", "message": "y"}
    ]
    report["records"] = {"a": {"records": [], "unanswered": ["_dmarc.example.com: timed out"]}}
    text = metrics.render(metrics.fleet(report, 1700000000.0))
    assert promtool("check", "metrics", text=text) == (0, "")
    found = samples(text)
    assert (
        found[("sendmail_fleet_dns_findings", (("finding", "dkim-record-missing"), ("site", "a")))] == 2
    )
    assert found[("sendmail_fleet_dns_findings", (("finding", "dmarc-missing"), ("site", "a")))] == 0
    assert found[("sendmail_fleet_dns_unanswered", (("site", "a"),))] == 1


def test_the_fleet_metrics_say_which_syndics_answered_on_a_master_of_masters():
    report = fleet_report.summarize(["m1"], {"m1": None})
    report["syndics"] = {
        "syndic-1": {"answered": True, "minions": ["m1"]},
        "syndic-2": {"answered": False, "minions": ["m3"]},
    }
    text = metrics.render(metrics.fleet(report, 1700000000.0))
    assert promtool("check", "metrics", text=text) == (0, "")
    found = samples(text)
    assert found[("sendmail_fleet_syndic_up", (("syndic", "syndic-1"),))] == 1
    assert found[("sendmail_fleet_syndic_up", (("syndic", "syndic-2"),))] == 0
    single = metrics.render(metrics.fleet(fleet_report.summarize(["m1"], {"m1": None}), 1.0))
    assert "sendmail_fleet_syndic_up{" not in single
