"""The execution module's pure submodules, through their public names, on real file formats."""

import pathlib
import time

import pytest
from sendmail import (
    cf,
    checks,
    crontabs,
    findings,
    mc,
    platform,
    processes,
    queues,
    relays,
    roles,
    switches,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"


def test_queue_id_time_decodes_sendmail_ids():
    # 6AQ6GcZx000009 was queued by sendmail 8.17 at 2026-11-26 06:16:38 local time.
    now = time.mktime((2026, 11, 26, 7, 0, 0, 0, 0, -1))
    created = queues.id_time("6AQ6GcZx000009", now)
    assert time.localtime(created)[:6] == (2026, 11, 26, 6, 16, 38)
    # The year is taken modulo 60: "5" is 2025, never 2085.
    assert time.localtime(queues.id_time("5AQ6GcZx000009", now)).tm_year == 2025
    assert queues.id_time("garbage", now) is None
    assert queues.id_time("6Z!6GcZx000009", now) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("1h30m", 5400), ("00:15:00", 900), ("10", 600), ("2d", 172800), ("x", None)],
)
def test_duration_seconds(text, seconds):
    assert checks.duration_seconds(text) == seconds


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


def test_debian_sendmail_conf():
    values = switches.parse_shell_vars((DATA / "debian-sendmail.conf").read_text())
    assert values["DAEMON_MODE"] == "Daemon"
    # QUEUE_MODE="${DAEMON_MODE}" is expanded like sh does.
    assert values["QUEUE_MODE"] == "Daemon"
    assert values["MSP_INTERVAL"] == "20m"


def test_shell_vars_ignore_commands_and_comments():
    text = "sendmail_enable=\"NO\"  # no daemon\nif true; then\nrm -rf /\nfi\nsendmail_flags='-L sm-mta -bd -q30m'\n"
    assert switches.parse_shell_vars(text) == {
        "sendmail_enable": "NO",
        "sendmail_flags": "-L sm-mta -bd -q30m",
    }


def test_cron_runners_debian_cron_d():
    text = (DATA / "debian-cron.d-sendmail").read_text()
    runners = crontabs.parse_runners(text, "/etc/cron.d/sendmail", has_user_field=True)
    # Debian's MSP line is active; the MTA line is commented out.
    assert [(r["queue"], r["schedule"], r["user"]) for r in runners] == [
        ("msp", "*/20 * * * *", "smmsp")
    ]


def test_cron_runners_root_crontab():
    text = (
        "# m h dom mon dow command\n"
        "0 * * * * /usr/sbin/sendmail -q\n"
        "*/15 * * * * /usr/sbin/sendmail -Ac -q\n"
        "@hourly /usr/lib/sendmail -q -v >/dev/null 2>&1\n"
        "5 * * * * /usr/bin/mailq\n"
        "#0 * * * * /usr/sbin/sendmail -q\n"
    )
    runners = crontabs.parse_runners(text, "root", has_user_field=False)
    assert [(r["queue"], r["schedule"]) for r in runners] == [
        ("mta", "0 * * * *"),
        ("msp", "*/15 * * * *"),
        ("mta", "@hourly"),
    ]


def test_parse_cf_reads_macros_options_and_mailers():
    parsed = cf.parse((DATA / "debian-submit.cf").read_text())
    assert parsed["macros"]["MTAHost"] == "[127.0.0.1]"
    assert parsed["options"]["QueueDirectory"] == "/var/spool/mqueue-client"
    assert parsed["mailer_args"]["relay"] == ["TCP", "$h"]
    assert parsed["problems"] == []
    # Header lines, continuation lines joined: Debian's Received: shows the version ($v/$Z).
    assert "by $j ($v/$Z)" in parsed["headers"]["Received"]
    assert parsed["headers"]["Return-Path"] == "<$g>"


def test_parse_cf_finds_what_readcf_rejects():
    assert cf.parse("")["problems"] == ["No local mailer defined"]
    problems = cf.parse("V10/Berkeley\nthis is not a cf\nMlocal, P=/bin/true, A=true\n")["problems"]
    assert problems and "line 2" in problems[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("esmtp:[mail.example.com]", ("esmtp", "[mail.example.com]")),
        ("[IPv6:2001:db8::25]", (None, "[IPv6:2001:db8::25]")),
        ("mail.example.com", (None, "mail.example.com")),
        ("", (None, None)),
    ],
)
def test_split_relay(value, expected):
    assert relays.split(value) == expected


def test_is_local_host():
    for host in ("[127.0.0.1]", "localhost", "[IPv6:::1]", "", "box.example.test"):
        assert relays.is_local(host, {"box.example.test"}), host
    assert not relays.is_local("[relay.example.test]", {"box.example.test"})
    assert not relays.is_local("[198.51.100.25]")


def test_relay_port():
    assert cf.relay_port(["TCP", "$h", "587"]) == 587
    assert cf.relay_port(["TCP", "$h"]) == 25


def test_hostname_qualified():
    assert findings.hostname_qualified("box.example.test", "")
    assert findings.hostname_qualified("box", "127.0.1.1 box.example.test box\n")
    assert not findings.hostname_qualified("box", "127.0.0.1 localhost\n127.0.1.1 box\n")


def test_queue_dir_problems():
    assert queues.dir_problems(0o42750, "mta") == []
    assert queues.dir_problems(0o42770, "msp") == []
    assert queues.dir_problems(0o42770, "mta")
    assert queues.dir_problems(0o40777, "msp")


@pytest.mark.parametrize(
    ("provider", "addresses", "relay", "role"),
    [
        ("none", [], False, "off"),
        ("postfix", [], True, "unknown"),
        ("sendmail", ["0.0.0.0"], False, "server"),
        ("sendmail", ["127.0.0.1"], False, "local-only"),
        ("sendmail", [], True, "client"),
        ("sendmail", [], False, "off"),
    ],
)
def test_decide_role(provider, addresses, relay, role):
    listeners = [{"address": a, "exposed": processes.is_exposed(a)} for a in addresses]
    assert roles.observed(provider, listeners, relay) == role


def test_parse_qf():
    data = (
        b"V8\nT1795673798\nK1795673900\nN2\nMhost map: lookup (example.com): deferred\n"
        b"Sroot\nrRFC822; b@example.com\nRPFD:b@example.com\nRPFD:c@example.org\n"
        b"H?P?Return-Path: <\xe9g>\n.\n"
    )
    message = queues.parse_qf(data)
    assert message["recipients"] == ["b@example.com", "c@example.org"]
    assert (message["created"], message["last_try"], message["tries"]) == (
        1795673798,
        1795673900,
        2,
    )
    assert message["reason"].startswith("host map")
    assert message["sender"] == "root"
    assert queues.parse_qf(b"\x00\xff garbage")["recipients"] == []


@pytest.mark.parametrize(
    "relay",
    [
        "mail.example.com",
        "[mail.example.com]",
        "[192.0.2.1]",
        "[IPv6:2001:db8::25]",
        "esmtp:[mail.example.com]",
        "relay:mail.example.com",
        "smtp:[192.0.2.1]",
    ],
)
def test_valid_relay_forms_are_accepted(relay):
    assert checks.relay(relay) == relay


def test_render_msp_mc_with_failover_and_port():
    text = mc.render("msp", ["[mx1.example.com]", "esmtp:[mx2.example.com]"], 587, ostype="debian")
    assert "FEATURE(`msp', `[mx1.example.com]:[mx2.example.com]')dnl" in text
    assert "define(`RELAY_MAILER_ARGS', `TCP $h 587')dnl" in text
    # esyscmd/syscmd are gone right after cf.m4 is included.
    lines = text.splitlines()
    assert (
        lines.index("undefine(`esyscmd')undefine(`syscmd')dnl")
        == lines.index(f"include(`{platform.DEFAULT_CF_M4}')dnl") + 1
    )


def test_one_oldest_first_order_across_the_60_year_cycle():
    now = time.mktime((2026, 11, 26, 7, 0, 0, 0, 0, -1))
    # "6" is 2026; "x" (59) is 2019 and "5" is 2025: all of this cycle. A year character past this
    # year's ("7" = 2027 would be the future) belongs to the previous cycle, 1967: oldest of all.
    names = ["qf6AQ6GcZx000009", "qf5AQ6GcZx000001", "qf7AQ6GcZx000002", "qf6AA6GcZx000003"]
    assert queues.oldest_first(names, now, 10) == [
        "qf7AQ6GcZx000002",
        "qf5AQ6GcZx000001",
        "qf6AA6GcZx000003",
        "qf6AQ6GcZx000009",
    ]
    assert queues.oldest_first(names, now, 2) == ["qf7AQ6GcZx000002", "qf5AQ6GcZx000001"]
    oldest, name = queues.oldest_created(names, "/nonexistent", now)
    assert (time.localtime(oldest).tm_year, name) == (1967, "qf7AQ6GcZx000002")
    assert queues.oldest_created(names[:2], "/nonexistent", now) == (
        queues.id_time(names[1][2:], now),
        names[1],
    )
    assert queues.oldest_created([], "/nonexistent", now) == (None, None)


def test_only_regular_qf_files_are_messages(tmp_path):
    (tmp_path / "qf6AQ6GcZx000009").write_bytes(b"V8\n")
    (tmp_path / "qf6AQ6GcZx000010").mkdir()
    (tmp_path / "qf6AQ6GcZx000011").symlink_to(tmp_path / "qf6AQ6GcZx000009")
    (tmp_path / "df6AQ6GcZx000009").write_bytes(b"hi\n")
    assert queues.qf_names(str(tmp_path)) == ["qf6AQ6GcZx000009"]


def test_platform_table_gives_unknown_families_no_packages():
    assert platform.lookup("Debian")["pkgs"] == ["sendmail-bin", "sendmail-cf", "m4"]
    assert platform.lookup("Gentoo")["pkgs"] == []
    assert platform.lookup("RedHat", {"pkgs": ["x"]})["pkgs"] == ["x"]
    assert platform.cf_pair(platform.lookup("Debian"), "msp") == (
        "/etc/mail/submit.cf",
        "/etc/mail/submit.mc",
    )
    assert platform.managed_files(platform.lookup("Debian")) == [
        "/etc/mail/submit.mc",
        "/etc/mail/sendmail.mc",
        "/etc/mail/submit.cf",
        "/etc/mail/sendmail.cf",
        "/etc/mail/sendmail.conf",
    ]


def test_a_leaf_directory_lists_plain_names_and_any_other_checks_types(tmp_path):
    (tmp_path / "qf6AQ6GcZx000009").write_bytes(b"V8\n")
    # Told the directory has no subdirectory (link count 2), names are listed as they are...
    assert queues.qf_names(str(tmp_path), nlink=2) == ["qf6AQ6GcZx000009"]
    # ...and the directory's real link count says when one appears.
    (tmp_path / "qf6AQ6GcZx000010").mkdir()
    nlink = (tmp_path).stat().st_nlink
    assert nlink == 3
    assert queues.qf_names(str(tmp_path), nlink=nlink) == ["qf6AQ6GcZx000009"]


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
