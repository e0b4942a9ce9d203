"""The pure helpers of the execution module, on real file formats."""

import pathlib
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"


def test_queue_id_time_decodes_sendmail_ids(mod):
    # 6AQ6GcZx000009 was queued by sendmail 8.17 at 2026-11-26 06:16:38 local time.
    now = time.mktime((2026, 11, 26, 7, 0, 0, 0, 0, -1))
    created = mod._queue_id_time("6AQ6GcZx000009", now)
    assert time.localtime(created)[:6] == (2026, 11, 26, 6, 16, 38)
    # The year is taken modulo 60: "5" is 2025, never 2085.
    assert time.localtime(mod._queue_id_time("5AQ6GcZx000009", now)).tm_year == 2025
    assert mod._queue_id_time("garbage", now) is None
    assert mod._queue_id_time("6Z!6GcZx000009", now) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("1h30m", 5400), ("00:15:00", 900), ("10", 600), ("2d", 172800), ("x", None)],
)
def test_duration_seconds(mod, text, seconds):
    assert mod._duration_seconds(text) == seconds


def test_parse_title_kinds(mod):
    assert mod._parse_title("sendmail: MTA: accepting connections")["kind"] == "mta"
    msp = mod._parse_title("sendmail: MSP: Queue runner@00:20:00 for /var/spool/mqueue-client")
    assert (msp["kind"], msp["interval"], msp["queue_dir"]) == (
        "msp-queue-runner",
        1200,
        "/var/spool/mqueue-client",
    )
    mta = mod._parse_title("sendmail: MTA: Queue runner@01:00:00 for /var/spool/mqueue")
    assert (mta["kind"], mta["interval"]) == ("mta-queue-runner", 3600)
    assert mod._parse_title("sendmail: ./6AQ6GcZx000009 relay.example.test.: user open")["kind"] == (
        "other"
    )


def test_argv_queue_interval(mod):
    assert (
        mod._argv_queue_interval(["/usr/sbin/sendmail-mta", "-Am", "-L", "sm-mta", "-bd", "-q10m"])
        == 600
    )
    assert mod._argv_queue_interval(["sendmail", "-bd", "-qp1h"]) == 3600
    assert mod._argv_queue_interval(["sendmail", "-bd"]) is None


def test_exposed_follows_the_cis_rule(mod):
    assert not mod._is_exposed("127.0.0.1")
    assert not mod._is_exposed("::1")
    assert mod._is_exposed("0.0.0.0")
    assert mod._is_exposed("198.51.100.7")
    assert mod._is_exposed("::")


def test_debian_sendmail_conf(mod):
    values = mod._parse_shell_vars((DATA / "debian-sendmail.conf").read_text())
    assert values["DAEMON_MODE"] == "Daemon"
    # QUEUE_MODE="${DAEMON_MODE}" is expanded like sh does.
    assert values["QUEUE_MODE"] == "Daemon"
    assert values["MSP_INTERVAL"] == "20m"


def test_shell_vars_ignore_commands_and_comments(mod):
    text = "sendmail_enable=\"NO\"  # no daemon\nif true; then\nrm -rf /\nfi\nsendmail_flags='-L sm-mta -bd -q30m'\n"
    assert mod._parse_shell_vars(text) == {
        "sendmail_enable": "NO",
        "sendmail_flags": "-L sm-mta -bd -q30m",
    }


def test_cron_runners_debian_cron_d(mod):
    text = (DATA / "debian-cron.d-sendmail").read_text()
    runners = mod._parse_cron_runners(text, "/etc/cron.d/sendmail", has_user_field=True)
    # Debian's MSP line is active; the MTA line is commented out.
    assert [(r["queue"], r["schedule"], r["user"]) for r in runners] == [
        ("msp", "*/20 * * * *", "smmsp")
    ]


def test_cron_runners_root_crontab(mod):
    text = (
        "# m h dom mon dow command\n"
        "0 * * * * /usr/sbin/sendmail -q\n"
        "*/15 * * * * /usr/sbin/sendmail -Ac -q\n"
        "@hourly /usr/lib/sendmail -q -v >/dev/null 2>&1\n"
        "5 * * * * /usr/bin/mailq\n"
        "#0 * * * * /usr/sbin/sendmail -q\n"
    )
    runners = mod._parse_cron_runners(text, "root", has_user_field=False)
    assert [(r["queue"], r["schedule"]) for r in runners] == [
        ("mta", "0 * * * *"),
        ("msp", "*/15 * * * *"),
        ("mta", "@hourly"),
    ]


def test_parse_cf_reads_macros_options_and_mailers(mod):
    cf = mod._parse_cf((DATA / "debian-submit.cf").read_text())
    assert cf["macros"]["MTAHost"] == "[127.0.0.1]"
    assert cf["options"]["QueueDirectory"] == "/var/spool/mqueue-client"
    assert cf["mailer_args"]["relay"] == ["TCP", "$h"]
    assert cf["problems"] == []


def test_parse_cf_finds_what_readcf_rejects(mod):
    assert mod._parse_cf("")["problems"] == ["No local mailer defined"]
    problems = mod._parse_cf("V10/Berkeley\nthis is not a cf\nMlocal, P=/bin/true, A=true\n")["problems"]
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
def test_split_relay(mod, value, expected):
    assert mod._split_relay(value) == expected


def test_is_local_host(mod):
    for host in ("[127.0.0.1]", "localhost", "[IPv6:::1]", "", "box.example.test"):
        assert mod._is_local_host(host, {"box.example.test"}), host
    assert not mod._is_local_host("[relay.example.test]", {"box.example.test"})
    assert not mod._is_local_host("[198.51.100.25]")


def test_relay_port(mod):
    assert mod._relay_port(["TCP", "$h", "587"]) == 587
    assert mod._relay_port(["TCP", "$h"]) == 25


def test_hostname_qualified(mod):
    assert mod._hostname_qualified("box.example.test", "")
    assert mod._hostname_qualified("box", "127.0.1.1 box.example.test box\n")
    assert not mod._hostname_qualified("box", "127.0.0.1 localhost\n127.0.1.1 box\n")


def test_queue_dir_problems(mod):
    assert mod._queue_dir_problems(0o42750, "mta") == []
    assert mod._queue_dir_problems(0o42770, "msp") == []
    assert mod._queue_dir_problems(0o42770, "mta")
    assert mod._queue_dir_problems(0o40777, "msp")


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
def test_decide_role(mod, provider, addresses, relay, role):
    listeners = [{"address": a, "exposed": mod._is_exposed(a)} for a in addresses]
    assert mod._decide_role(provider, listeners, relay) == role


def test_parse_qf(mod):
    data = (
        b"V8\nT1795673798\nK1795673900\nN2\nMhost map: lookup (example.com): deferred\n"
        b"Sroot\nrRFC822; b@example.com\nRPFD:b@example.com\nRPFD:c@example.org\n"
        b"H?P?Return-Path: <\xe9g>\n.\n"
    )
    message = mod._parse_qf(data)
    assert message["recipients"] == ["b@example.com", "c@example.org"]
    assert (message["created"], message["last_try"], message["tries"]) == (
        1795673798,
        1795673900,
        2,
    )
    assert message["reason"].startswith("host map")
    assert message["sender"] == "root"
    assert mod._parse_qf(b"\x00\xff garbage")["recipients"] == []


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
def test_valid_relay_forms_are_accepted(mod, relay):
    assert mod._validate_relay(relay) == relay


def test_render_msp_mc_with_failover_and_port(mod):
    text = mod._render_mc("msp", ["[mx1.example.com]", "esmtp:[mx2.example.com]"], 587, ostype="debian")
    assert "FEATURE(`msp', `[mx1.example.com]:[mx2.example.com]')dnl" in text
    assert "define(`RELAY_MAILER_ARGS', `TCP $h 587')dnl" in text
    # esyscmd/syscmd are gone right after cf.m4 is included.
    lines = text.splitlines()
    assert (
        lines.index("undefine(`esyscmd')undefine(`syscmd')dnl")
        == lines.index(f"include(`{mod._DEFAULT_CF_M4}')dnl") + 1
    )
