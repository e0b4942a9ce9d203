"""The roles submodule through its public names (saltext.sendmail.shared.roles)."""

import pytest

from saltext.sendmail.shared import cf, processes, relays, roles


@pytest.mark.parametrize(
    ("provider", "addresses", "relay", "role"),
    [
        ("none", [], False, "off"),
        ("postfix", [], True, "unknown"),
        ("sendmail", ["0.0.0.0"], False, "server"),
        ("sendmail", ["127.0.0.1"], False, "local-only"),
        ("sendmail", [], True, "client"),
        ("sendmail", [], False, "off"),
    ],
)
def test_decide_role(provider, addresses, relay, role):
    listeners = [{"address": a, "exposed": processes.is_exposed(a)} for a in addresses]
    # relay: the MSP sends to another host (msp_local false) or to this one.
    relay_facts = {"msp_local": not relay, "mta": None}
    assert roles.observed({"provider": provider, "msp_split": True}, listeners, relay_facts) == role


def test_role_problems_name_what_would_strand_mail():
    hostnames = relays.this_host_names("box.example.test")
    assert roles.problems("client", ["[mail.example.com]"], hostnames) == []
    for relay in ("[127.0.0.1]", "localhost", "[IPv6:::1]", "box.example.test", "esmtp:[box]"):
        [problem] = roles.problems("client", [relay], hostnames)
        assert "is this host" in problem
    assert "loop" in roles.problems("server", ["[127.0.0.1]"], hostnames)[0]
    assert roles.problems("server", ["[mail.example.com]"], hostnames) == []


def test_a_refusing_relay_is_still_a_server_from_its_cfs_daemon_options():
    sendmail_cf = cf.parse(
        "O DaemonPortOptions=Family=inet, Name=MTA-v4, Port=smtp\n"
        "O DaemonPortOptions=Port=587, Addr=127.0.0.1, Name=MSA\n"
        "Mlocal, P=/x, A=x\n"
    )
    refusing = {"pid": 7, "kind": "mta", "refusing": {"daemon": "MTA-v4", "reason": "load average: 64"}}
    held = roles.held_listeners([refusing], sendmail_cf)
    assert held == [
        {
            "address": "0.0.0.0",
            "port": 25,
            "pid": 7,
            "process": "sendmail",
            "exposed": True,
            "refusing": "load average: 64",
        }
    ]
    version = {"provider": "sendmail", "msp_split": True}
    relay = {"msp_local": True, "mta": None}
    assert roles.observed(version, held, relay) == "server"
    assert roles.observed(version, [], relay) == "off"  # what status said before
    # A local-only MTA that refuses stays local-only.
    local = cf.parse("O DaemonPortOptions=Name=MTA-v4, Addr=127.0.0.1\nMlocal, P=/x, A=x\n")
    assert roles.observed(version, roles.held_listeners([refusing], local), relay) == "local-only"
