"""
The dkim submodule (saltext.sendmail.shared.dkim): the site's ``dkim`` checked, OpenDKIM's tables
and configuration keywords, the socket sendmail reaches it on, the record read from
opendkim-genkey's file and split for DNS, and the plan and writes of ``sendmail_dkim.setup`` (a
stand-in key maker: the real opendkim-genkey runs in tests/functional/test_dkim.py).
"""

import os
import pathlib

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from saltext.sendmail.shared import dkim
from tests.unit.support import load

# opendkim-genkey's own output (a 2048-bit key's record, cut short here).
GENKEY_TXT = (
    's2026-relay1._domainkey\tIN\tTXT\t( "v=DKIM1; h=sha256; k=rsa; "\n'
    '\t  "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzx"\n'
    '\t  "GSHEV8KcuXXrs0HjKdhYNX7j+IDAQAB" )  ; ----- DKIM key s2026-relay1 for example.com\n'
)


def test_the_defaults_come_from_the_site():
    assert dkim.check({"selector": "S2026"}, "example.com") == {
        "selector": "s2026",
        "next_selector": None,
        "domains": ["example.com"],
        "bits": 2048,
    }


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ({"selector": "s 2026"}, "dkim:selector: 's 2026' is not a DNS label"),
        ({"selector": "-s"}, "is not a DNS label"),
        ({"selector": "s1", "next_selector": "s1"}, "the selector in use"),
        ({"selector": "s1", "bits": 512}, "dkim:bits: 512 is not one of 1024, 2048, 3072, 4096"),
        ({"selector": "s1", "bits": True}, "dkim:bits"),
        ({"selector": "s1", "domains": []}, "name the domains"),
        ({"selector": "s1", "domains": ["example.com')dnl"]}, "dkim:domains"),
        ({"selector": "s1", "key": "x"}, "unknown key key"),
        ("s1", "expected a mapping with selector"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(value, why):
    with pytest.raises(SaltInvocationError, match=why.replace("(", r"\(")):
        dkim.check(value, "example.com")


def test_without_masquerade_as_the_domains_must_be_named():
    with pytest.raises(SaltInvocationError, match="masquerade_as, is not set"):
        dkim.check({"selector": "s1"}, None)


def test_each_relay_has_its_own_selector():
    assert dkim.relay_selector("s2026", "relay1.paris.example.com") == "s2026-relay1"
    with pytest.raises(SaltInvocationError, match="is not a DNS label"):
        dkim.relay_selector("s2026", "relay_1")


def test_the_sites_networks_and_the_relay_itself_are_internal_hosts():
    hosts = dkim.internal_hosts(["example.com", "198.51.100", "10", "192.0.2.7", "IPv6:2001:db8:5"])
    assert hosts == [
        "127.0.0.1",
        "::1",
        "198.51.100.0/24",
        "10.0.0.0/8",
        "192.0.2.7/32",
        "2001:db8:5::/48",
    ]


def test_the_tables_sign_each_domain_with_this_relays_key(tmp_path):
    lookup = {"dkim_keys_dir": str(tmp_path)}
    checked = dkim.check({"selector": "s1", "domains": ["a.example", "b.example"]})
    texts = dkim.tables(lookup, checked, ("s1-r1", "s2-r1"), ["198.51.100"])
    assert texts[f"{tmp_path}/salt-keytable"] == (
        f"s1-r1._domainkey.a.example a.example:s1-r1:{tmp_path}/a.example/s1-r1.private\n"
        f"s1-r1._domainkey.b.example b.example:s1-r1:{tmp_path}/b.example/s1-r1.private\n"
    )
    assert texts[f"{tmp_path}/salt-signingtable"] == (
        "*@a.example s1-r1._domainkey.a.example\n*@b.example s1-r1._domainkey.b.example\n"
    )
    assert texts[f"{tmp_path}/salt-internalhosts"] == "127.0.0.1\n::1\n198.51.100.0/24\n"
    assert texts[f"{tmp_path}/salt-next-selectors"] == "a.example s2-r1\nb.example s2-r1\n"


def test_the_conf_gets_the_signing_keywords_once_and_keeps_every_other_line():
    lookup = {"dkim_keys_dir": "/etc/dkimkeys"}
    vendor = (
        "Syslog\t\t\tyes\nCanonicalization\trelaxed/simple\n#Mode\t\t\tsv\nSocket local:/run/x.sock\n"
    )
    once = dkim.conf_text(vendor, lookup)
    assert once.startswith("Syslog\t\t\tyes\n#Mode\t\t\tsv\nSocket local:/run/x.sock\n\n" + dkim.MARK)
    assert "Canonicalization\trelaxed/relaxed\n" in once and "relaxed/simple" not in once
    assert "KeyTable\tfile:/etc/dkimkeys/salt-keytable\n" in once
    assert "SigningTable\trefile:/etc/dkimkeys/salt-signingtable\n" in once
    assert dkim.conf_text(once, lookup) == once  # a second run changes nothing


@pytest.mark.parametrize(
    ("conf", "socket"),
    [
        ("Socket local:/run/opendkim/opendkim.sock\n", "local:/run/opendkim/opendkim.sock"),
        ("Socket\tinet:8891@localhost\n", "inet:8891@127.0.0.1"),
        ("Socket inet:8891\n", "inet:8891@127.0.0.1"),
        ("Socket inet6:8891@localhost\n", "inet6:8891@::1"),
        ("Socket inet:8892@192.0.2.5\n", "inet:8892@192.0.2.5"),
        ("#Socket inet:1@127.0.0.1\n", "local:/run/default.sock"),
    ],
)
def test_sendmail_reaches_opendkim_on_the_socket_its_conf_names(conf, socket):
    assert dkim.socket_of(conf, {"dkim_socket": "local:/run/default.sock"}) == socket


def test_the_record_is_read_from_genkeys_file_and_split_for_dns():
    value = dkim.record(GENKEY_TXT)
    assert value == (
        "v=DKIM1; h=sha256; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzx"
        "GSHEV8KcuXXrs0HjKdhYNX7j+IDAQAB"
    )
    assert (
        dkim.public_key(value)
        == "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzxGSHEV8KcuXXrs0HjKdhYNX7j+IDAQAB"
    )
    assert dkim.record("garbage") is None
    long = "v=DKIM1; k=rsa; p=" + "A" * 392
    assert [len(part) for part in dkim.strings(long)] == [255, 155]
    assert "".join(dkim.strings(long)) == long


def fake_genkey(calls):
    """A key maker writing what opendkim-genkey writes (a fake key: no secret)."""

    def run(command, **_):
        calls.append(command)
        selector, work = command[command.index("-s") + 1], command[command.index("-D") + 1]
        pathlib.Path(work, f"{selector}.private").write_text("-----BEGIN PRIVATE KEY-----\nFAKE\n")
        pathlib.Path(work, f"{selector}.txt").write_text(GENKEY_TXT.replace("s2026-relay1", selector))
        return {"retcode": 0, "stdout": "", "stderr": ""}

    return run


def lab_lookup(tmp_path):
    genkey = tmp_path / "opendkim-genkey"
    genkey.write_text("#!/bin/sh\n")
    genkey.chmod(0o755)
    (tmp_path / "opendkim.conf").write_text("Socket local:/run/opendkim/opendkim.sock\n")
    return {
        "dkim_conf": str(tmp_path / "opendkim.conf"),
        "dkim_keys_dir": str(tmp_path / "keys"),
        "dkim_user": None,
        "dkim_genkey": str(genkey),
        "dkim_socket": "local:/run/x",
        "dkim_pkgs": ["opendkim", "opendkim-tools"],
    }


def test_test_mode_predicts_and_writes_nothing_then_the_run_makes_the_key_once(tmp_path):
    lookup, calls = lab_lookup(tmp_path), []
    predicted = dkim.apply(
        lookup, fake_genkey(calls), {"selector": "s2026"}, [], "example.com", "relay1", True
    )
    assert predicted["keys_made"] == ["s2026-relay1._domainkey.example.com"]
    assert predicted["milter"] == {
        "name": "opendkim",
        "socket": "local:/run/opendkim/opendkim.sock",
        "flags": "T",
    }
    assert calls == [] and not os.path.exists(lookup["dkim_keys_dir"])
    done = dkim.apply(
        lookup, fake_genkey(calls), {"selector": "s2026"}, [], "example.com", "relay1", False
    )
    assert done["keys_made"] == predicted["keys_made"] and sorted(done["files"]) == sorted(
        predicted["files"]
    )
    private = tmp_path / "keys" / "example.com" / "s2026-relay1.private"
    assert private.stat().st_mode & 0o777 == 0o600
    assert not [name for name in os.listdir(private.parent) if name.startswith(".genkey-")]
    again = dkim.apply(
        lookup, fake_genkey(calls), {"selector": "s2026"}, [], "example.com", "relay1", False
    )
    assert again["changed"] is False and len(calls) == 1
    [key] = dkim.installed(lookup)["keys"]
    assert key["name"] == "s2026-relay1._domainkey.example.com" and key["value"].startswith("v=DKIM1;")
    assert "FAKE" not in repr([predicted, done, again, dkim.installed(lookup)])


def test_a_failing_key_maker_leaves_no_key_and_says_why(tmp_path):
    lookup = lab_lookup(tmp_path)

    def failing(command, **_):
        return {"retcode": 1, "stdout": "", "stderr": "openssl: not found"}

    with pytest.raises(
        CommandExecutionError, match=r"opendkim-genkey failed for example\.com.*openssl: not found"
    ):
        dkim.apply(lookup, failing, {"selector": "s1"}, [], "example.com", "relay1", False)
    assert os.listdir(tmp_path / "keys" / "example.com") == []
    assert (tmp_path / "opendkim.conf").read_text() == "Socket local:/run/opendkim/opendkim.sock\n"


def test_without_the_key_maker_the_packages_are_named(tmp_path):
    lookup = {**lab_lookup(tmp_path), "dkim_genkey": str(tmp_path / "none")}
    with pytest.raises(CommandExecutionError, match="install opendkim opendkim-tools"):
        dkim.apply(lookup, fake_genkey([]), {"selector": "s1"}, [], "example.com", "relay1", False)


def test_where_the_platform_has_no_opendkim_signing_is_refused(tmp_path):
    lookup = {**lab_lookup(tmp_path), "dkim_conf": None}
    with pytest.raises(CommandExecutionError, match="not supported here: lookup:dkim_conf"):
        dkim.apply(lookup, fake_genkey([]), {"selector": "s1"}, [], "example.com", "relay1", True)


def test_a_host_that_does_not_sign_has_no_keys(tmp_path):
    assert dkim.installed({"dkim_keys_dir": None}) is None
    assert dkim.installed({"dkim_keys_dir": str(tmp_path)}) is None
    assert dkim.managed({"dkim_keys_dir": None, "dkim_conf": None}) == []


@pytest.mark.parametrize(
    ("settings", "provider", "wanted"),
    [
        ({"role": "server", "dkim": {"selector": "s1"}}, "sendmail", ["opendkim", "opendkim-tools"]),
        ({"role": "server", "dkim": {"selector": "s1"}}, "none", ["opendkim", "opendkim-tools"]),
        ({"role": "server", "dkim": {"selector": "s1"}}, "postfix", []),
        ({"role": "server"}, "sendmail", []),
        ({"role": "client", "dkim": {"selector": "s1"}}, "sendmail", []),
        (SaltInvocationError("sendmail:role: required"), "sendmail", []),
    ],
)
def test_the_formula_installs_opendkim_on_a_relay_that_signs_where_sendmail_is_the_mta(
    settings, provider, wanted
):
    module = load("_modules/sendmail_dkim.py")

    def read_settings(*_):
        if isinstance(settings, Exception):
            raise settings
        return settings

    module.__salt__ = {
        "sendmail.settings": read_settings,
        "sendmail.version": lambda: {"provider": provider},
        "sendmail.lookup": lambda: {"dkim_pkgs": ["opendkim", "opendkim-tools"]},
    }
    assert module.packages() == wanted
