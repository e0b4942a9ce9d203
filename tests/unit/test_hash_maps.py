"""Hash maps (saltext.sendmail.shared.hash_maps): built aside by makemap, then renamed into place."""

import os

import pytest
from salt.exceptions import CommandExecutionError

from saltext.sendmail.shared import files, hash_maps

LOOKUP = {"makemap_bin": "/usr/sbin/makemap", "validate_timeout": 30}


def test_the_map_is_built_in_a_private_directory_and_renamed_over_the_old_one(tmp_path, monkeypatch):
    seen, owned = [], []

    def makemap(cmd, stdin, **kwargs):
        built = cmd[-1]
        seen.append(
            (
                cmd[:2],
                os.path.dirname(built),
                oct(os.stat(os.path.dirname(built)).st_mode & 0o777),
                stdin,
            )
        )
        with open(built + ".db", "w") as db:
            db.write("db of " + stdin)
        return {"retcode": 0, "stdout": "", "stderr": ""}

    monkeypatch.setattr(files, "own", lambda path, uid, gid, mode: owned.append((uid, gid, oct(mode))))
    (tmp_path / "salt-access.db").write_text("old")
    hash_maps.build(
        LOOKUP,
        makemap,
        str(tmp_path / "salt-access"),
        "ClientRate:\t30\n",
        gid=7,
        mode=0o640,
        backup=True,
    )
    [(argv, private, private_mode, text)] = seen
    assert argv == ["/usr/sbin/makemap", "hash"]
    assert os.path.dirname(private) == str(tmp_path) and private_mode == "0o700"
    assert text == "ClientRate:\t30\n"
    assert owned == [(0, 7, "0o640")]
    assert (tmp_path / "salt-access.db").read_text() == "db of ClientRate:\t30\n"
    assert (tmp_path / "salt-access.db.bak").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["salt-access.db", "salt-access.db.bak"]


def test_a_refused_map_names_the_map_and_changes_nothing(tmp_path):
    def makemap(cmd, stdin, **kwargs):
        return {"retcode": 1, "stdout": "", "stderr": "makemap: line 2: no RHS for LHS ClientRate:"}

    (tmp_path / "salt-access.db").write_text("old")
    with pytest.raises(
        CommandExecutionError, match=r"makemap for .*salt-access failed \(exit 1\): makemap: line 2"
    ):
        hash_maps.build(LOOKUP, makemap, str(tmp_path / "salt-access"), "ClientRate:\n")
    assert os.listdir(tmp_path) == ["salt-access.db"]
    assert (tmp_path / "salt-access.db").read_text() == "old"
