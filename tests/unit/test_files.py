"""The files submodule (saltext.sendmail.shared.files): the only writer, atomic, with a .bak."""

import os

import pytest

from saltext.sendmail.shared import files


def test_install_keeps_the_old_file_as_bak_and_renames_into_place(tmp_path):
    target = tmp_path / "sendmail.cf"
    target.write_text("old\n")
    old_inode = target.stat().st_ino
    files.install(files.write_temp(str(target), "new\n"), str(target))
    assert target.read_text() == "new\n"
    assert (tmp_path / "sendmail.cf.bak").read_text() == "old\n"
    assert (tmp_path / "sendmail.cf.bak").stat().st_ino == old_inode  # the same file, linked
    # No temp file is left beside it.
    assert sorted(os.listdir(tmp_path)) == ["sendmail.cf", "sendmail.cf.bak"]


def test_a_stale_temp_file_of_a_killed_run_is_removed(tmp_path):
    target = tmp_path / "sendmail.cf"
    (tmp_path / ".sendmail.cf.abc123.tmp").write_text("half")
    files.remove_stale_temps(str(target))
    assert os.listdir(tmp_path) == []


def test_replace_all_removes_a_file_given_none(tmp_path):
    gone, kept = tmp_path / "a", tmp_path / "b"
    gone.write_text("x")
    files.replace_all({str(gone): None, str(kept): "y"})
    assert not gone.exists() and kept.read_text() == "y"


def test_read_text_says_none_for_a_missing_file(tmp_path):
    assert files.read_text(str(tmp_path / "missing")) is None


def test_what_goes_over_salts_wire_shows_non_utf8_bytes_as_replacement_characters(tmp_path):
    import salt.payload

    path = tmp_path / "aliases"
    path.write_bytes(b"m\xfcller: mail\n")
    text = files.read_text(str(path))
    assert text.encode("utf-8", "surrogateescape") == b"m\xfcller: mail\n"
    with pytest.raises(UnicodeEncodeError):
        salt.payload.dumps({"text": text})
    shown = files.shown_data({"a": [text, (text,)], text: None, "n": 1})
    assert shown == {
        "a": ["m\ufffdller: mail\n", ["m\ufffdller: mail\n"]],
        "m\ufffdller: mail\n": None,
        "n": 1,
    }
    assert salt.payload.loads(salt.payload.dumps(shown)) == shown
