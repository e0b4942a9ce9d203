"""The cf submodule through its public names (saltext.sendmail.shared.cf)."""

import pathlib

from saltext.sendmail.shared import cf

REPO = pathlib.Path(__file__).resolve().parents[2]


DATA = REPO / "tests" / "data"


REPO = pathlib.Path(__file__).resolve().parents[2]


DATA = REPO / "tests" / "data"


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


def test_relay_port():
    assert cf.relay_port(["TCP", "$h", "587"]) == 587
    assert cf.relay_port(["TCP", "$h"]) == 25
