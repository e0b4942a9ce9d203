"""The pillar submodule through its public names (saltext.sendmail.shared.pillar)."""

import pathlib

import pytest
import yaml
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import allowlist, limits_table, pillar, relay_features, tls_auth

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example_pillar():
    return yaml.safe_load((REPO / "pillar.example").read_text())["sendmail"]


def test_pillar_example_resolves_for_a_client_and_a_server(example_pillar):
    client = pillar.resolve(example_pillar, {"site": "paris"})
    assert client == {
        "role": "client",
        "site": "paris",
        "relay": ["[relay1.paris.example.com]", "[relay2.paris.example.com]"],
        "port": 25,
        "msp_runner": "daemon",
        "msp_interval": "15m",
        "queue_interval": "1h",
        "flush_timeout": 300,
        "limits": {"queue_warn": "4h", "queue_return": "5d"},
        "tls": example_pillar["sites"]["paris"]["tls"],
        "auth": example_pillar["sites"]["paris"]["auth"],
        "masquerade_as": "paris.example.com",
        "site_relays": {
            "relays": ["[relay1.paris.example.com]", "[relay2.paris.example.com]"],
            "port": 25,
        },
    }
    # What the CLI shows: the password masked.
    assert pillar.masked(client)["auth"] == {**client["auth"], "password": "********"}
    assert client["auth"]["password"] == example_pillar["sites"]["paris"]["auth"]["password"]
    # The example's hop settings pass the checks for both roles (its paths aside: no such files here).
    paths = {"sendmail_cf": "/etc/mail/sendmail.cf"}
    settings = tls_auth.request("msp", paths, tls={"require": True}, auth=client["auth"])
    assert settings["auth"]["mechanisms"] == ["PLAIN", "LOGIN"]
    # Every relay of the example passes the allowlist.
    assert allowlist.relays(client["relay"]) == client["relay"]
    server = pillar.resolve(example_pillar, {"site": "paris"}, role="server")
    # Only servers get the aliases; both get the domain.
    assert "aliases" not in client
    assert server["aliases"] == {"root": "ops@paris.example.com", "postmaster": "ops@paris.example.com"}
    assert server["masquerade_as"] == "paris.example.com"
    # A relay knows its site's relays too (the rolling patch counts every one of them).
    assert server["site_relays"] == client["site_relays"]
    assert server["relay_domains"] == ["paris.example.com", "198.51.100", "IPv6:2001:db8:5"]
    # Its relay features, and only a server's; every one of them passes the build's checks.
    assert "features" not in client
    assert set(server["features"]) == set(relay_features.KEYS)
    checked = relay_features.check(server["features"], server["relay_domains"])
    assert checked["milters"][0]["flags"] == "T"
    assert allowlist.server_limits(server["limits"]) == {
        **limits_table.SERVER_DEFAULTS,
        "queue_warn": "4h",
        "queue_return": "5d",
    }
    # A client gets the site's queue timeouts, not its relays' limits.
    assert client["limits"] == {"queue_warn": "4h", "queue_return": "5d"}
    assert (server["relay"], server["port"], server["queue_interval"]) == (
        "[outbound.example.com]",
        587,
        "15m",
    )
    # A site's one-relay list is that relay: a list of one bare name means an MX lookup here.
    lyon = pillar.resolve({**example_pillar, "site": "lyon"}, {"site": "paris"})
    assert lyon["relay"] == "[relay1.lyon.example.com]"
    sites = {"mx": {"relays": ["mail.example.com"]}}
    assert pillar.resolve({"role": "client", "sites": sites}, {"site": "mx"})["relay"] == (
        "mail.example.com"
    )


@pytest.mark.parametrize(
    ("change", "grains", "said"),
    [
        (
            {"role": "relay"},
            {"site": "paris"},
            "sendmail:role must be 'client' or 'server', not 'relay'",
        ),
        (
            {"msp_intervall": "5m"},
            {"site": "paris"},
            "sendmail:msp_intervall: unknown key; did you mean msp_interval?",
        ),
        ({"role": None}, {"site": "paris"}, "sendmail:role"),
        ({}, {}, "sendmail:site: no site"),
        ({}, {"site": "berlin"}, "no site 'berlin' (known: lyon, paris)"),
        ({"sites": {"paris": {"relays": []}}}, {"site": "paris"}, "sendmail:sites:paris:relays"),
        ({"sites": ["paris"]}, {"site": "paris"}, "sendmail:sites: expected a mapping"),
    ],
)
def test_bad_pillar_names_the_key(example_pillar, change, grains, said):
    with pytest.raises(Exception, match="sendmail:") as err:
        pillar.resolve({**example_pillar, **change}, grains)
    assert said in str(err.value)


def test_a_typo_in_a_site_names_the_full_path_and_the_key_meant(example_pillar):
    sites = {"paris": {**example_pillar["sites"]["paris"], "relay_domain": ["paris.example.com"]}}
    with pytest.raises(SaltInvocationError) as err:
        pillar.resolve({**example_pillar, "role": "server", "sites": sites}, {"site": "paris"})
    assert str(err.value) == (
        "sendmail:sites:paris:relay_domain: unknown key; did you mean relay_domains?"
    )


def test_the_minion_config_goes_on_top_of_pillar_and_both_must_be_mappings():
    assert pillar.merged({"role": "client", "site": "a"}, {"site": "b"}) == {
        "role": "client",
        "site": "b",
    }
    assert pillar.merged(None, None) == {}
    with pytest.raises(SaltInvocationError, match="expected a mapping in pillar"):
        pillar.merged("client", None)
    assert pillar.managed({"role": "server"}) and not pillar.managed({"sites": {}})


@pytest.mark.parametrize(
    ("site", "said"),
    [
        ({"masquerade_as": "paris"}, "sendmail:sites:paris:masquerade_as: 'paris' is not a domain"),
        ({"masquerade_as": "dnl.example.com"}, "contains an m4 word"),
        (
            {"aliases": {"root": "ops team@example.com"}},
            "sendmail:sites:paris:aliases:root: 'ops team@example.com' is not an address",
        ),
        ({"aliases": {"root": "ops@example.com`"}}, "is not an address"),
        ({"aliases": {"ro ot": "ops@example.com"}}, "'ro ot' is not a local name"),
        ({"aliases": {"root": "root"}}, "root goes to itself: a mail loop"),
        (
            {"masquerade_as": "example.com", "aliases": {"root": "root@example.com"}},
            "root goes to itself",
        ),
    ],
)
def test_bad_local_mail_values_name_the_key(example_pillar, site, said):
    sites = {"paris": {**example_pillar["sites"]["paris"], **site}}
    with pytest.raises(SaltInvocationError) as err:
        pillar.resolve({**example_pillar, "sites": sites}, {"site": "paris"}, role="server")
    assert said in str(err.value)


def test_pillar_examples_schedule_runs_the_patch_level_with_a_splay():
    # Salt's scheduler reads these keys; the function is the execution module's own.
    job = yaml.safe_load((REPO / "pillar.example").read_text())["schedule"]["sendmail-patch-level"]
    assert job["function"] == "sendmail.patch_level"
    assert job["splay"] > 0 and job["minutes"] * 60 > job["splay"]
    module = (REPO / "_modules" / "sendmail.py").read_text()
    assert "\ndef patch_level(refresh=False):" in module


def test_validate_tells_an_unmanaged_minion_apart_and_checks_what_its_role_needs(example_pillar):
    assert pillar.minion_problems(example_pillar, {"site": "paris"}) == []
    assert pillar.minion_problems(None, {}) == [
        "sendmail:role: not set: the formula leaves this minion alone (unmanaged)"
    ]
    without_role = {key: value for key, value in example_pillar.items() if key != "role"}
    assert "unmanaged" in pillar.minion_problems(without_role, {"site": "paris"})[0]
    # Every key known, but no site for this minion: its role could not be applied.
    [problem] = pillar.minion_problems(example_pillar, {"site": "berlin"})
    assert "berlin" in problem
    assert pillar.minion_problems({"role": "client", "msp_intervall": "5m"}, {}) == [
        "sendmail:msp_intervall: unknown key; did you mean msp_interval?"
    ]


def test_the_minimal_pillar_works_as_written_for_the_relay_and_its_clients():
    minimal = yaml.safe_load((REPO / "pillar.minimal.example").read_text())["sendmail"]
    assert pillar.minion_problems(minimal, {}) == []
    client = pillar.resolve(minimal, {})
    assert (client["role"], client["relay"], client["masquerade_as"]) == (
        "client",
        "[relay1.paris.example.com]",
        "paris.example.com",
    )
    relay = {**minimal, "role": "server"}  # what the relay's own pillar file adds
    assert pillar.minion_problems(relay, {}) == []
    server = pillar.resolve(relay, {})
    assert server["relay_domains"] == ["paris.example.com", "198.51.100"]
    assert server["aliases"] == {"root": "ops@paris.example.com"}
