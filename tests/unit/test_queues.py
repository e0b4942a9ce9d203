"""The queues submodule through its public names (saltext.sendmail.shared.queues)."""

import time

from saltext.sendmail.shared import queues


def test_queue_id_time_decodes_sendmail_ids():
    # 6AQ6GcZx000009 was queued by sendmail 8.17 at 2026-11-26 06:16:38 local time.
    now = time.mktime((2026, 11, 26, 7, 0, 0, 0, 0, -1))
    created = queues.id_time("6AQ6GcZx000009", now)
    assert time.localtime(created)[:6] == (2026, 11, 26, 6, 16, 38)
    # The year is taken modulo 60: "5" is 2025, never 2085.
    assert time.localtime(queues.id_time("5AQ6GcZx000009", now)).tm_year == 2025
    assert queues.id_time("garbage", now) is None
    assert queues.id_time("6Z!6GcZx000009", now) is None


def test_queue_dir_problems():
    assert queues.dir_problems(0o42750, "mta") == []
    assert queues.dir_problems(0o42770, "msp") == []
    assert queues.dir_problems(0o42770, "mta")
    assert queues.dir_problems(0o40777, "msp")


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


def test_a_leaf_directory_lists_plain_names_and_any_other_checks_types(tmp_path):
    (tmp_path / "qf6AQ6GcZx000009").write_bytes(b"V8\n")
    # Told the directory has no subdirectory (link count 2), names are listed as they are...
    assert queues.qf_names(str(tmp_path), nlink=2) == ["qf6AQ6GcZx000009"]
    # ...and the directory's real link count says when one appears.
    (tmp_path / "qf6AQ6GcZx000010").mkdir()
    nlink = (tmp_path).stat().st_nlink
    assert nlink == 3
    assert queues.qf_names(str(tmp_path), nlink=nlink) == ["qf6AQ6GcZx000009"]
