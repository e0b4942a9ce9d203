"""
The relay_maps submodule (saltext.sendmail.shared.relay_maps): the site's maps and access entries
as the pillar gives them, every key and value checked, and the map texts makemap reads.
"""

import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import platform, relay_maps


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("mailertable", "example.net", "esmtp:[203.0.113.25]"),
        ("mailertable", ".example.net", "smtp:mx.example.org"),
        ("mailertable", "old.example.com", "error:5.1.2:550 no such domain"),
        ("mailertable", "v6.example.net", "esmtp:[IPv6:2001:db8:5::25]"),
        ("virtusertable", "@example.net", "%1@example.com"),
        ("virtusertable", "nobody@example.net", "error:nouser User unknown"),
        ("virtusertable", "info@example.net", "ops"),
        ("genericstable", "alice", "alice.smith@example.com"),
        ("genericstable", "bob@host31.example.com", "bob@example.com"),
        ("domaintable", "old.example.com", "example.com"),
    ],
)
def test_the_forms_sites_write_are_taken(name, key, value):
    assert relay_maps.entries({key: value}, name, name) == {key: value}


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("esmtp:[203.0.113.25]\nKevil hash /tmp/x", "a newline"),
        ("esmtp:[203.0.113.25]\tX", "a tab"),
        ("esmtp:`[203.0.113.25]'", "an m4 quote (`)"),
        ("esmtp:[203.0.113.25]#", "a comment character (#)"),
        ("esmtp:$x", "a macro character ($)"),
    ],
)
def test_a_special_character_is_refused_naming_it_and_the_entry(value, named):
    with pytest.raises(SaltInvocationError) as err:
        relay_maps.entries({"example.net": value}, "mailertable", "sites:s:mailertable")
    assert f"sites:s:mailertable:example.net: {value!r} holds {named}" in str(err.value)


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("mailertable", "example.net", "uucp:[203.0.113.25]"),
        ("mailertable", "example.net", "esmtp:"),
        ("mailertable", "exa mple.net", "esmtp:[203.0.113.25]"),
        ("mailertable", "dnl.example.net", "esmtp:[203.0.113.25]"),
        ("virtusertable", "@example.net", "error:5.1.1 no"),
        ("virtusertable", "nobody@example.net", "error:nouser"),
        ("virtusertable", "a b@example.net", "ops"),
        ("genericstable", "alice", "%1@example.com"),
        ("domaintable", "old.example.com", "not a domain"),
    ],
)
def test_what_is_not_a_form_of_the_map_is_refused(name, key, value):
    with pytest.raises(SaltInvocationError, match=name):
        relay_maps.entries({key: value}, name, name)


@pytest.mark.parametrize(
    ("key", "action"),
    [
        ("Connect:203.0.113.66", "REJECT"),
        ("Connect:203.0.113", "DISCARD"),
        ("Connect:IPv6:2001:db8:6", "REJECT"),
        ("From:spam@example.org", "DISCARD"),
        ("From:example.org", 'ERROR:5.7.1:"550 not from you"'),
        ("To:partner.example.org", "RELAY"),
        ("To:postmaster@example.com", "OK"),
        ("Connect:bad.example.org", 'ERROR:"550 go away"'),
        ("Connect:203.0.113.70", "SKIP"),
    ],
)
def test_access_entries_take_the_tags_and_actions_of_sendmails_access_map(key, action):
    assert relay_maps.access({key: action}) == {key: action}


@pytest.mark.parametrize(
    ("key", "action", "why"),
    [
        ("Spam:203.0.113.66", "REJECT", "is not Connect:, From: or To:"),
        ("Connect:203.0.113.666", "REJECT", "not an IPv4"),
        ("Connect:IPv6:2001::5", "REJECT", "not an IPv6 network"),
        ("Connect:203.0.113.66", 'ERROR:"5.7.1 text"', "is not OK, RELAY"),
        ("Connect:203.0.113.66", "MAYBE", "is not OK, RELAY"),
        ("Connect:203.0.113.66", 'ERROR:"550 a" quote"', "is not OK, RELAY"),
    ],
)
def test_access_entries_that_sendmail_would_misread_are_refused(key, action, why):
    with pytest.raises(SaltInvocationError, match=why):
        relay_maps.access({key: action})


def test_each_map_is_written_sorted_and_planned_only_when_its_text_changes(tmp_path):
    lookup = {**platform.DEFAULTS, "sendmail_cf": str(tmp_path / "sendmail.cf")}
    maps = {"mailertable": {"b.example": "esmtp:[203.0.113.2]", "a.example": "esmtp:[203.0.113.1]"}}
    texts = relay_maps.texts(maps)
    assert texts["mailertable"] == "a.example\tesmtp:[203.0.113.1]\nb.example\tesmtp:[203.0.113.2]\n"
    path = relay_maps.map_path(lookup, "mailertable")
    assert path == str(tmp_path / "salt-mailertable")
    # No map yet: only the mailertable is planned (the empty ones are not written at all).
    assert relay_maps.plan(lookup, maps) == {path: texts["mailertable"]}
    (tmp_path / "salt-mailertable").write_text(texts["mailertable"])
    assert relay_maps.plan(lookup, maps) == {}
    # Its entries gone from pillar: the map is emptied, not left behind.
    assert relay_maps.plan(lookup, {}) == {path: ""}


def test_a_map_gets_its_feature_line_only_while_it_has_entries(tmp_path):
    lookup = {**platform.DEFAULTS, "sendmail_cf": str(tmp_path / "sendmail.cf")}
    maps = {"genericstable": {"alice": "alice@example.com"}, "mailertable": {}}
    assert relay_maps.mc_lines(lookup, maps, ["host31.example.com"]) == [
        f"FEATURE(`genericstable', `hash -o {tmp_path}/salt-genericstable')dnl",
        "GENERICS_DOMAIN(`host31.example.com')dnl",
    ]


def test_the_maps_a_cf_reads_are_counted_from_their_sources(tmp_path):
    (tmp_path / "salt-mailertable").write_text("# c\na.example\tesmtp:[203.0.113.1]\n\n")
    cf_text = (
        f"Kmailertable hash -o {tmp_path}/salt-mailertable.db\n"
        f"Kaccess hash -T<TMPF> -o {tmp_path}/missing\n"
        "Kednsbl dns -R A -a. -T<TMP> -r5\n"
    )
    assert relay_maps.in_cf(cf_text) == {
        "mailertable": {"path": f"{tmp_path}/salt-mailertable.db", "entries": 1},
        "access": {"path": f"{tmp_path}/missing", "entries": None},
    }
