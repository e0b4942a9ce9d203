"""
The relay_options submodule (saltext.sendmail.shared.relay_options): where a relay listens, its
timeouts, privacy flags, blocklists, local domains and trusted users, checked and as .mc lines.
"""

import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import relay_options


def test_a_relay_listens_on_every_ipv4_address_unless_told():
    assert relay_options.listen(None) == ["0.0.0.0"]
    assert relay_options.daemon_lines(["0.0.0.0"]) == [
        "DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=smtp')dnl"
    ]


def test_ipv6_addresses_get_their_own_daemons():
    addresses = relay_options.listen(["198.51.100.1", "2001:db8:5::1", "::"])
    assert relay_options.daemon_lines(addresses) == [
        "DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=smtp, Addr=198.51.100.1')dnl",
        "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=2001:db8:5::1')dnl",
        "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6-2, Port=smtp')dnl",
    ]


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda: relay_options.listen(["mail.example.com"]), r"listen\[0\]: 'mail.example.com' is not"),
        (lambda: relay_options.listen(["::", "0:0::0"]), "listed twice"),
        (lambda: relay_options.timeouts({"helo": "5 m"}), "is not a duration"),
        (lambda: relay_options.timeouts({"hello": "5m"}), "timeout must be"),
        (lambda: relay_options.privacy_flags(["public"]), "flag must be"),
        (lambda: relay_options.names(["a.example', `x"], "local_host_names"), "not a host name"),
        (lambda: relay_options.names(["root\n"], "trusted_users", user=True), "not a user name"),
        (
            lambda: relay_options.dnsbl([{"zone": "bl.example.test", "answers": ["127.0.0"]}]),
            "not an IPv4",
        ),
        (
            lambda: relay_options.dnsbl([{"zone": "bl.example.test", "message": "550 it's"}]),
            "not a reply",
        ),
        (
            lambda: relay_options.dnsbl([{"zone": "bl.example.test", "message": "550 a, b"}]),
            "not a reply",
        ),
        (lambda: relay_options.dnsbl([{"zone": "bl.example.test", "on_timeout": "drop"}]), "on_timeout"),
        (lambda: relay_options.dnsbl([{"message": "550 listed"}]), "zone: None is required"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(call, why):
    with pytest.raises(SaltInvocationError, match=why):
        call()


def test_a_blocklist_tempfails_on_a_dns_timeout_unless_told_and_names_the_answers_that_count():
    lists = relay_options.dnsbl(
        [
            {"zone": "bl.example.test", "answers": ["127.0.0.2", "127.0.0.3"]},
            {"zone": "dnsbl.example.org", "message": "550 5.7.1 listed", "on_timeout": "accept"},
        ]
    )
    assert relay_options.dnsbl_lines(lists) == [
        "FEATURE(`enhdnsbl', `bl.example.test', `', `t', `127.0.0.2.', `127.0.0.3.')dnl",
        "FEATURE(`enhdnsbl', `dnsbl.example.org', `\"550 5.7.1 listed\"', `')dnl",
    ]


def test_the_settings_become_their_macros():
    options = relay_options.check(
        {
            "timeouts": {"helo": "5m", "ident": "0s"},
            "trusted_users": ["majordomo", "list"],
            "local_host_names": ["example.net"],
        }
    )
    assert relay_options.mc_lines(options) == [
        "define(`confTO_HELO', `5m')dnl",
        "define(`confTO_IDENT', `0s')dnl",
        "define(`confTRUSTED_USERS', `majordomo list')dnl",
        "LOCAL_DOMAIN(`example.net')dnl",
    ]
