"""The status report (saltext.sendmail.shared.status_report): a status report of a host with nothing installed."""

from saltext.sendmail.shared import platform, status_report


def test_a_host_without_sendmail_reports_off_with_no_findings(tmp_path):
    lookup = platform.lookup(
        "",
        {
            key: str(tmp_path / key)
            for key in (
                "sendmail_bin",
                "sendmail_cf",
                "submit_cf",
                "mta_queue_dir",
                "msp_queue_dir",
                "hosts_file",
                "user_crontabs",
            )
        },
    )
    lookup["cron_tables"] = []
    report = status_report.status(lookup, {}, 86400)
    assert (report["installed"], report["provider"], report["role"]) == (False, "none", "off")
    assert report["findings"] == []
    assert report["held_listeners"] == []
    assert set(report["queues"]) == {"mta", "msp"}
