"""The rollback submodule (saltext.sendmail.shared.rollback): the previous files, put back."""

import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import platform, rollback


@pytest.fixture
def lookup(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    return platform.lookup(
        "", {"sendmail_cf": str(etc / "sendmail.cf"), "submit_cf": str(etc / "submit.cf")}
    )


def test_what_was_saved_comes_back_and_only_what_differs_is_written(lookup, tmp_path):
    (tmp_path / "etc" / "sendmail.cf").write_text("old cf\n")
    saved = rollback.saved(lookup)
    assert saved[lookup["sendmail_cf"]] == "old cf\n"
    assert saved[lookup["submit_cf"]] is None
    (tmp_path / "etc" / "sendmail.cf").write_text("new cf\n")
    (tmp_path / "etc" / "submit.cf").write_text("new submit\n")
    restored = rollback.restore(lookup, saved, run=None)
    assert sorted(restored["restored"]) == sorted([lookup["sendmail_cf"], lookup["submit_cf"]])
    assert restored["not_restored"] == {}
    assert (tmp_path / "etc" / "sendmail.cf").read_text() == "old cf\n"
    assert not (tmp_path / "etc" / "submit.cf").exists()
    assert rollback.restore(lookup, saved, run=None) == {"restored": [], "not_restored": {}}


def test_a_path_the_lookup_no_longer_names_is_named_and_the_rest_goes_back(lookup, tmp_path):
    (tmp_path / "etc" / "sendmail.cf").write_text("old cf\n")
    saved = {**rollback.saved(lookup), "/etc/passwd": "root::0:0::/:/bin/sh\n"}
    (tmp_path / "etc" / "sendmail.cf").write_text("new cf\n")
    restored = rollback.restore(lookup, saved, run=None)
    assert restored["restored"] == [lookup["sendmail_cf"]]
    assert (tmp_path / "etc" / "sendmail.cf").read_text() == "old cf\n"
    assert restored["not_restored"] == {
        "/etc/passwd": "not a file this package manages (the lookup no longer names it)"
    }


def test_a_file_that_is_not_utf8_comes_back_byte_for_byte(lookup, tmp_path):
    latin1 = "# Gr\xfc\xdfe aus K\xf6ln\nO AliasFile=/etc/aliases\r\n".encode("latin-1")
    cf = tmp_path / "etc" / "sendmail.cf"
    cf.write_bytes(latin1)
    saved = rollback.saved(lookup)
    cf.write_text("new cf\n")
    assert rollback.restore(lookup, saved, run=None)["restored"] == [lookup["sendmail_cf"]]
    assert cf.read_bytes() == latin1


def test_what_is_not_a_mapping_is_refused(lookup):
    with pytest.raises(SaltInvocationError, match="files must map paths"):
        rollback.restore(lookup, ["/etc/passwd"], run=None)


def test_the_files_a_rollback_may_restore_do_not_depend_on_the_installed_cf(lookup, tmp_path):
    # A client's nullclient cf names no alias file, Debian's names /etc/mail/aliases: what was saved
    # before the first step must still be accepted after the cf changed.
    aliases = tmp_path / "etc" / "aliases"
    aliases.write_text("root: ops@example.com\n")
    lookup = {**lookup, "aliases_file": str(aliases)}
    saved = rollback.saved(lookup)
    assert saved[str(aliases)] == "root: ops@example.com\n"
    (tmp_path / "etc" / "sendmail.cf").write_text("O AliasFile=/somewhere/else\n")
    aliases.write_text("root: other@example.com\n")
    assert (
        str(aliases)
        in rollback.restore(
            lookup, saved, run=lambda *a, **k: {"retcode": 0, "stdout": "", "stderr": ""}
        )["restored"]
    )
    assert aliases.read_text() == "root: ops@example.com\n"


def test_config_files_carry_a_non_utf8_file_over_salts_wire_and_back(lookup, tmp_path):
    import salt.payload

    latin1 = "# K\xf6ln\n".encode("latin-1")
    cf = tmp_path / "etc" / "sendmail.cf"
    cf.write_bytes(latin1)
    portable = rollback.portable(rollback.saved(lookup))
    # What msgpack would refuse ("surrogates not allowed") goes as base64, and comes back.
    sent = salt.payload.loads(salt.payload.dumps(portable))
    assert sent[lookup["sendmail_cf"]] == {"base64": "IyBL9mxuCg=="}
    cf.write_text("new cf\n")
    assert rollback.restore(lookup, sent, run=None)["restored"] == [lookup["sendmail_cf"]]
    assert cf.read_bytes() == latin1


def test_opendkims_conf_and_tables_go_back_and_its_keys_stay(lookup, tmp_path):
    keys = tmp_path / "dkimkeys"
    (keys / "example.com").mkdir(parents=True)
    conf = tmp_path / "opendkim.conf"
    conf.write_text("Syslog yes\n")
    lookup = {**lookup, "dkim_conf": str(conf), "dkim_keys_dir": str(keys)}
    saved = rollback.saved(lookup)
    assert saved[str(conf)] == "Syslog yes\n" and saved[str(keys / "salt-keytable")] is None
    conf.write_text("Syslog yes\nMode sv\n")
    (keys / "salt-keytable").write_text("s1-r._domainkey.example.com example.com:s1-r:/k\n")
    (keys / "example.com" / "s1-r.private").write_text("made by the failed run\n")
    restored = rollback.restore(lookup, saved, run=None)
    assert sorted(restored["restored"]) == [str(keys / "salt-keytable"), str(conf)]
    assert conf.read_text() == "Syslog yes\n" and not (keys / "salt-keytable").exists()
    assert (keys / "example.com" / "s1-r.private").exists()
