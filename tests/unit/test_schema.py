"""The schema submodule (saltext.sendmail.shared.schema): every key known, typos and types refused."""

import pathlib
import re

import pytest
import yaml

from saltext.sendmail.shared import platform, schema

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ({"msp_intervall": "5m"}, "sendmail:msp_intervall: unknown key; did you mean msp_interval?"),
        (
            {"sites": {"paris": {"relay_domain": []}}},
            "sendmail:sites:paris:relay_domain: unknown key; did you mean relay_domains?",
        ),
        (
            {"sites": {"paris": {"limits": {"max_message_sise": 10}}}},
            "sendmail:sites:paris:limits:max_message_sise: unknown key; did you mean max_message_size?",
        ),
        (
            {"lookup": {"sendmail_cff": "/etc/mail/sendmail.cf"}},
            "sendmail:lookup:sendmail_cff: unknown key; did you mean sendmail_cf?",
        ),
        ({"zzz": 1}, "sendmail:zzz: unknown key; known: cron_seed, flush_timeout, lookup"),
        ({"role": "relay"}, "sendmail:role must be 'client' or 'server', not 'relay'"),
        ({"msp_runner": "none"}, "sendmail:msp_runner must be 'daemon' or 'cron', not 'none'"),
        ({"msp_interval": "15"}, "sendmail:msp_interval: '15' needs a unit"),
        ({"flush_timeout": "300"}, "sendmail:flush_timeout: expected a whole number, got str '300'"),
        ({"max_queue_age": True}, "sendmail:max_queue_age: expected a whole number, got bool True"),
        (
            {"sites": {"paris": {"relays": [["relay.example.com"]]}}},
            "sendmail:sites:paris:relays[0]: expected text, got list",
        ),
        (
            {"sites": {"paris": {"port": "smtp"}}},
            "sendmail:sites:paris:port: 'smtp' is not a port number",
        ),
        (
            {"sites": {"paris": {"tls": {"require": "yes"}}}},
            "sendmail:sites:paris:tls:require: expected true or false, got str 'yes'",
        ),
        (
            {"sites": {"paris": {"auth": {"mechanisms": ["PLAIN", "NTLM"]}}}},
            "sendmail:sites:paris:auth:mechanisms must be 'PLAIN' or",
        ),
        ({"sites": "paris"}, "sendmail:sites: expected a mapping, got str 'paris'"),
        ({"lookup": {"pkgs": "sendmail"}}, "sendmail:lookup:pkgs: expected a list, got str 'sendmail'"),
        (
            {"sites": {"paris": {"relays": ["198.51.100.11:587"]}}},
            "sendmail:sites:paris:relays[0]: '198.51.100.11:587' is not a host name",
        ),
        (
            {"sites": {"paris": {"relay_domains": ["dnl.example.com"]}}},
            "sendmail:sites:paris:relay_domains[0]: 'dnl.example.com' contains an m4 word",
        ),
    ],
)
def test_each_problem_names_the_full_key_path(config, said):
    [problem] = schema.problems(config)
    assert problem.startswith(said), problem


def test_optional_values_may_be_null():
    site = {
        "relays": ["mail.example.com"],
        "port": None,
        "smart_host": None,
        "smart_host_port": None,
        "limits": None,
        "tls": None,
        "auth": None,
    }
    assert schema.problems({"sites": {"paris": site}}) == []


def test_every_problem_is_listed_at_once():
    problems = schema.problems({"rol": "client", "msp_intervall": "5m", "flush_timeout": "x"})
    assert len(problems) == 3


def test_secrets_never_appear_in_a_problem():
    config = {"sites": {"a": {"auth": {"password": 12345678}, "tls": {"key": ["-----BEGIN x"]}}}}
    problems = schema.problems(config)
    assert len(problems) == 2
    assert not [p for p in problems if "12345678" in p or "BEGIN" in p]


def test_lookup_knows_every_key_of_the_platform_table_and_nothing_else():
    assert set(schema.PILLAR.keys["lookup"].keys) == set(platform.DEFAULTS)
    assert schema.problems({"lookup": {"validate_timeout": 5, "tls_dir": None, "pkgs": []}}) == []


def test_every_lookup_key_the_code_reads_is_one_the_pillar_may_set():
    # Read from the code itself: a key read with lookup["..."] or lookup.get("...") anywhere in
    # the package is a key of the platform table, so sendmail:lookup accepts it (help_file was not).
    read = set()
    for source in REPO.glob("_*/**/*.py"):
        text = source.read_text()
        read.update(re.findall(r"lookup(?:\[|\.get\()\"([a-z_]+)\"", text))
        read.update(re.findall(r"beside_cf\(lookup, \"([a-z_]+)\"", text))
    assert "help_file" in read and "sendmail_cf" in read
    assert read - set(platform.DEFAULTS) == set()
    assert schema.problems({"lookup": {"help_file": "/etc/mail/helpfile.empty"}}) == []


def test_pillar_example_fits_the_schema_and_names_every_key_it_knows():
    example = yaml.safe_load((REPO / "pillar.example").read_text())
    assert schema.problems(example["sendmail"]) == []
    assert schema.problems(_merged(example["beacons"]["sendmail"]), schema.BEACON) == []
    text = (REPO / "pillar.example").read_text()
    # Every key outside lookup (whose keys are the platform table's, shown by sendmail.lookup).
    for path in schema.key_paths():
        if ":lookup:" in path:
            continue
        assert f"{path.rsplit(':', 1)[1]}:" in text, f"pillar.example does not show {path}"


def test_readme_pillar_table_names_exactly_the_keys_the_schema_knows():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Pillar") :]
    table = section[section.index("| key |") :].split("\n\n", 1)[0]
    named = set()
    for row in table.splitlines()[2:]:
        first, meaning = row.split("|")[1], row.split("|")[2]
        keys = [key.strip("` ") for key in first.split(",")]
        parent = keys[0].rsplit(":", 1)[0]
        named.update(key if ":" in key else f"{parent}:{key}" for key in keys)
        # Sub-keys of a mapping (limits, tls, auth) are named in the meaning, in backticks.
        for path in schema.key_paths():
            prefix = path.rsplit(":", 1)[0]
            if prefix in named and ":lookup" not in prefix and f"`{path.rsplit(':', 1)[1]}`" in meaning:
                named.add(path)
    known = {path for path in schema.key_paths() if ":lookup:" not in path}
    beacon = {f"beacons:sendmail:{key}" for key in schema.BEACON.keys if not key.startswith("_")}
    assert known - named == set(), "keys the README table does not name"
    assert named - known - {"beacons:sendmail"} == set(), "keys the README names that do not exist"
    beacon_row = next(row for row in table.splitlines() if row.startswith("| `beacons:sendmail`"))
    assert {key for key in beacon if f"`{key.rsplit(':', 1)[1]}`" not in beacon_row} <= {
        "beacons:sendmail:enabled",
        "beacons:sendmail:run_once",
        "beacons:sendmail:beacon_module",
    }


def _merged(items):
    merged = {}
    for item in items:
        merged.update(item)
    return merged
