"""The processes submodule through its public names (saltext.sendmail.shared.processes)."""

from saltext.sendmail.shared import processes


def test_parse_title_kinds():
    assert processes.parse_title("sendmail: MTA: accepting connections")["kind"] == "mta"
    msp = processes.parse_title("sendmail: MSP: Queue runner@00:20:00 for /var/spool/mqueue-client")
    assert (msp["kind"], msp["interval"], msp["queue_dir"]) == (
        "msp-queue-runner",
        1200,
        "/var/spool/mqueue-client",
    )
    mta = processes.parse_title("sendmail: MTA: Queue runner@01:00:00 for /var/spool/mqueue")
    assert (mta["kind"], mta["interval"]) == ("mta-queue-runner", 3600)
    assert processes.parse_title("sendmail: ./6AQ6GcZx000009 relay.example.test.: user open")[
        "kind"
    ] == ("other")


def test_argv_queue_interval():
    assert (
        processes.argv_queue_interval(["/usr/sbin/sendmail-mta", "-Am", "-L", "sm-mta", "-bd", "-q10m"])
        == 600
    )
    assert processes.argv_queue_interval(["sendmail", "-bd", "-qp1h"]) == 3600
    assert processes.argv_queue_interval(["sendmail", "-bd"]) is None


def test_exposed_follows_the_cis_rule():
    assert not processes.is_exposed("127.0.0.1")
    assert not processes.is_exposed("::1")
    assert processes.is_exposed("0.0.0.0")
    assert processes.is_exposed("198.51.100.7")
    assert processes.is_exposed("::")


def test_runner_titles_without_debian_prefix_are_told_by_their_queue_directory():
    # Red Hat's cfs set no "MTA:"/"MSP:" title prefix.
    title = "sendmail: Queue runner@01:00:00 for /var/spool/clientmqueue"
    msp = processes.parse_title(title, msp_dirs=["/var/spool/clientmqueue"])
    assert (msp["kind"], msp["interval"], msp["queue_dir"]) == (
        "msp-queue-runner",
        3600,
        "/var/spool/clientmqueue",
    )
    assert processes.parse_title(title)["kind"] == "mta-queue-runner"
    assert processes.parse_title("sendmail: accepting connections")["kind"] == "mta"


def test_an_mta_refusing_for_load_is_still_the_mta_and_says_why():
    title = "sendmail: MTA: rejecting connections on daemon MTA-v4: load average: 64"
    parsed = processes.parse_title(title)
    assert (parsed["kind"], parsed["accepting"]) == ("mta", False)
    assert parsed["refusing"] == {"daemon": "MTA-v4", "reason": "load average: 64"}
    daemon = {"kind": "mta", "accepting": False, "refusing": parsed["refusing"]}
    assert processes.running([daemon]) == {"mta": True, "msp_runner": False}
    # Red Hat's title has no MTA: prefix.
    assert processes.parse_title("sendmail: rejecting connections on daemon MTA: load average: 12")[
        "refusing"
    ] == {"daemon": "MTA", "reason": "load average: 12"}
