"""The hop submodule through its public names (saltext.sendmail.shared.tls_auth)."""

import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import (
    tls_auth,
)

PATHS = {"sendmail_cf": "/etc/mail/sendmail.cf"}


CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def test_pem_text_goes_to_tls_dir_and_only_paths_reach_the_mc():
    settings = tls_auth.request(
        "server", PATHS, tls={"cert": CERT, "key": KEY, "require": True}, auth={}
    )
    assert settings["tls"]["key"] == {"path": "/etc/mail/tls/salt-relay.key", "pem": KEY}
    lines, rulesets = tls_auth.mc_lines("server", settings, ["example.com", "198.51.100"])
    text = "\n".join(lines + rulesets)
    assert "define(`confSERVER_KEY', `/etc/mail/tls/salt-relay.key')dnl" in lines
    assert "PRIVATE KEY" not in text and "MIIE" not in text
    # No auth asked for: none offered. Only the network prefix is held to STARTTLS.
    assert "define(`confAUTH_MECHANISMS', `')dnl" in lines
    assert [rule for rule in rulesets if rule.startswith("R198")] == [
        'R198.51.100 $* $|\t$#error $@ 4.7.0 $: "451 STARTTLS is required from this network"'
    ]


def test_a_domain_that_starts_with_a_digit_is_not_held_to_starttls_as_a_network():
    settings = tls_auth.request(
        "server", PATHS, tls={"cert": CERT, "key": KEY, "require": True}, auth={}
    )
    _, rulesets = tls_auth.mc_lines("server", settings, ["3com.com"])
    assert not [rule for rule in rulesets if "STARTTLS is required" in rule]


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
        tls_auth.request(kind, PATHS, **settings)
    assert "a\nb" not in str(err.value)
