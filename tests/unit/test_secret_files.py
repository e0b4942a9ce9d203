"""The secret_files submodule through its public names (saltext.sendmail.shared.secret_files)."""

import base64
import grp
import os

from saltext.sendmail.shared import platform, secret_files, tls_auth

PATHS = {"sendmail_cf": "/etc/mail/sendmail.cf"}


def test_a_client_map_entry_masks_nothing_but_is_never_summarised_with_the_password():
    settings = tls_auth.request("msp", PATHS, auth={"user": "u1", "password": "pa ss"})
    [spec] = [spec for spec in secret_files.wanted("client", settings, PATHS).values() if spec]
    assert spec["text"] == (
        f'authinfo:\t"U:u1" "I:u1" "P={base64.b64encode(b"pa ss").decode()}" '
        f'"M:{" ".join(tls_auth.CLIENT_MECHANISMS)}"\n'
    )
    assert (spec["mode"], spec["gid"]) == (0o640, grp.getgrnam("smmsp").gr_gid)
    assert "pa ss" not in spec["what"]


def test_the_files_it_manages_follow_the_lookup():
    lookup = platform.lookup("Debian", {"sendmail_cf": "/srv/mail/sendmail.cf"})
    managed = secret_files.managed(lookup)
    assert "/srv/mail/salt-authinfo.db" in managed
    assert all(os.path.dirname(path).startswith("/srv/mail") for path in managed)
