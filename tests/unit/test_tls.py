"""The hop settings (tls.py) and the secret files' plan (hop_files.py), without sendmail."""

import base64
import grp

import pytest
from salt.exceptions import SaltInvocationError
from sendmail import hop_files, tls

PATHS = {"sendmail_cf": "/etc/mail/sendmail.cf"}
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def test_pem_text_goes_to_tls_dir_and_only_paths_reach_the_mc():
    hop = tls.request("server", PATHS, tls={"cert": CERT, "key": KEY, "require": True}, auth={})
    assert hop["tls"]["key"] == {"path": "/etc/mail/tls/salt-relay.key", "pem": KEY}
    lines, rulesets = tls.mc_lines("server", hop, ["example.com", "198.51.100"])
    text = "\n".join(lines + rulesets)
    assert "define(`confSERVER_KEY', `/etc/mail/tls/salt-relay.key')dnl" in lines
    assert "PRIVATE KEY" not in text and "MIIE" not in text
    # No auth asked for: none offered. Only the network prefix is held to STARTTLS.
    assert "define(`confAUTH_MECHANISMS', `')dnl" in lines
    assert [rule for rule in rulesets if rule.startswith("R198")] == [
        'R198.51.100 $* $|\t$#error $@ 4.7.0 $: "451 STARTTLS is required from this network"'
    ]


def test_a_client_map_entry_masks_nothing_but_is_never_summarised_with_the_password():
    hop = tls.request("msp", PATHS, auth={"user": "u1", "password": "pa ss"})
    [spec] = [spec for spec in hop_files.wanted("client", hop, PATHS).values() if spec]
    assert spec["text"] == (
        f'authinfo:\t"U:u1" "I:u1" "P={base64.b64encode(b"pa ss").decode()}" '
        f'"M:{" ".join(tls.CLIENT_MECHANISMS)}"\n'
    )
    assert (spec["mode"], spec["gid"]) == (0o640, grp.getgrnam("smmsp").gr_gid)
    assert "pa ss" not in spec["what"]


@pytest.mark.parametrize(
    ("kind", "settings", "said"),
    [
        ("server", {"tls": {"cert": CERT}}, "a server needs key"),
        ("msp", {"auth": {"user": "u", "password": "a\nb"}}, "auth:password: contains a newline"),
        ("msp", {"auth": {"user": "u u", "password": "x"}}, "contains a space or a quote"),
        ("msp", {"auth": {"user": "u"}}, "auth:password: expected a non-empty string"),
        ("msp", {"tls": ["ca"]}, "expected a mapping"),
    ],
)
def test_bad_values_name_the_key_and_never_the_password(kind, settings, said):
    with pytest.raises(SaltInvocationError, match=said) as err:
        tls.request(kind, PATHS, **settings)
    assert "a\nb" not in str(err.value)
