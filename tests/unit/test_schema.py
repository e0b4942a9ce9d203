"""The schema submodule (saltext.sendmail.shared.schema): every key known, typos and types refused."""

import importlib.util
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


def test_every_key_has_its_meaning_for_the_pillar_reference():
    known = {path for path in schema.key_paths() if ":lookup:" not in path}
    assert set(schema.DOCS) == known


def test_the_committed_pillar_reference_is_the_one_the_schema_makes():
    """docs/ref/pillar.md is readable in a checkout, and the docs build rewrites it: they agree."""
    spec = importlib.util.spec_from_file_location(
        "pillar_table", REPO / "docs" / "_ext" / "pillar_table.py"
    )
    pillar_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pillar_table)
    assert (REPO / "docs" / "ref" / "pillar.md").read_text() == pillar_table.markdown()
    for path in schema.key_paths():
        if ":lookup:" not in path:
            assert f"| `{path}` |" in pillar_table.markdown()


def test_the_fleet_view_topic_shows_every_setting_of_the_drift_beacon():
    topic = (REPO / "docs" / "topics" / "fleet-view.md").read_text()
    salts_own = {"enabled", "run_once", "beacon_module"}
    for key in schema.BEACON.keys:
        if not key.startswith("_") and key not in salts_own:
            assert f"- {key}:" in topic, key


def _merged(items):
    merged = {}
    for item in items:
        merged.update(item)
    return merged
