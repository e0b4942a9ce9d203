"""
The relay_features submodule (saltext.sendmail.shared.relay_features): a site's relay features as
one checked mapping, the access lines of the site's networks and entries, and the .mc lines.
"""

import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import platform, relay_features


def test_no_features_give_a_relay_that_only_relays():
    checked = relay_features.check(None)
    assert checked["listen"] == ["0.0.0.0"]
    assert relay_features.mc_lines(platform.DEFAULTS, checked) == []


def test_an_unknown_key_is_named_with_the_known_ones():
    with pytest.raises(SaltInvocationError, match="unknown key mailer_table"):
        relay_features.check({"mailer_table": {}})


def test_a_genericstable_needs_the_domains_it_applies_to():
    with pytest.raises(SaltInvocationError, match="generics_domains"):
        relay_features.check({"genericstable": {"alice": "alice@example.com"}})


def test_the_sites_networks_relay_and_an_entry_of_its_own_for_one_is_refused():
    domains = ["example.com", "198.51.100", "IPv6:2001:db8:5"]
    checked = relay_features.check({"access": {"Connect:203.0.113.66": "REJECT"}}, domains)
    assert relay_features.access_lines(checked, domains) == [
        "Connect:198.51.100\tRELAY",
        "Connect:IPv6:2001:db8:5\tRELAY",
        "Connect:203.0.113.66\tREJECT",
    ]
    with pytest.raises(
        SaltInvocationError, match=r"access:Connect:198\.51\.100: a network of relay_domains"
    ):
        relay_features.check({"access": {"Connect:198.51.100": "REJECT"}}, domains)


def test_a_virtusertable_domain_is_one_the_relay_takes_mail_for():
    checked = relay_features.check(
        {"virtusertable": {"@example.net": "ops@example.com", "info@example.org": "ops"}}
    )
    lines = relay_features.mc_lines(platform.DEFAULTS, checked)
    assert lines == ["VIRTUSER_DOMAIN(`example.net')dnl", "VIRTUSER_DOMAIN(`example.org')dnl"]
