"""The binary submodule (saltext.sendmail.shared.binary): which MTA the sendmail binary is, its version."""

import pytest

from saltext.sendmail.shared import binary


@pytest.mark.parametrize(
    ("text", "parsed", "split"),
    [
        ("8.17.1.9", (8, 17, 1, 9), True),
        ("8.12.0", (8, 12, 0), True),
        ("8.11.7", (8, 11, 7), False),
        ("", None, False),
        (None, None, False),
    ],
)
def test_versions_compare_as_numbers_and_8_12_splits_the_msp(text, parsed, split):
    assert binary.parse_version(text) == parsed
    assert binary.msp_split(text) is split


def test_a_missing_binary_is_no_mta(tmp_path):
    found = binary.info(str(tmp_path / "sendmail"), {})
    assert (found["installed"], found["provider"], found["version"]) == (False, "none", None)


def test_postfix_and_exim_are_told_by_name_or_by_their_bytes(tmp_path):
    (tmp_path / "sendmail.postfix").write_text("#!/bin/sh\n")
    (tmp_path / "sendmail").symlink_to(tmp_path / "sendmail.postfix")
    assert binary.provider_of(str(tmp_path / "sendmail")) == "postfix"
    (tmp_path / "mta").write_bytes(b"\x7fELF ... Exim version %s ...")
    assert binary.provider_of(str(tmp_path / "mta")) == "exim"
    assert binary.provider_of("/usr/sbin/sendmail") is None  # Debian's own: may be ours


def test_the_version_probe_runs_once_per_binary_file_across_fresh_processes(tmp_path):
    # A stand-in sendmail that counts its runs; a fresh dict per call is a fresh job's context.
    runs = tmp_path / "runs"
    fake = tmp_path / "sendmail"
    fake.write_text(f"#!/bin/sh\necho run >> {runs}\necho 'Version 8.17.1.9 '\n")
    fake.chmod(0o755)
    cache_dir = str(tmp_path / "cache")
    for _ in range(3):
        found = binary.info(str(fake), {}, cache_dir)
        assert (found["provider"], found["version"]) == ("sendmail", "8.17.1.9")
    assert runs.read_text().splitlines() == ["run"]
    # Another binary at the same path (an upgrade): probed again.
    fake.write_text(f"#!/bin/sh\necho run >> {runs}\necho 'Version 8.18.1 '\n")
    assert binary.info(str(fake), {}, cache_dir)["version"] == "8.18.1"
    assert len(runs.read_text().splitlines()) == 2
