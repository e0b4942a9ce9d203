"""The local_mail submodule (saltext.sendmail.shared.local_mail): aliases, virtusertable, root's route."""

from saltext.sendmail.shared import cf, local_mail, platform

DEBIAN_ALIASES = "# /etc/aliases\nmailer-daemon: postmaster\npostmaster: root\nnobody: root\nwww: root,\n  webmaster\n"


def test_named_entries_are_set_in_place_and_every_other_line_is_kept():
    text = local_mail.aliases_text(
        DEBIAN_ALIASES, {"postmaster": ["ops@example.com"], "root": ["ops@example.com"]}
    )
    assert text.splitlines() == [
        "# /etc/aliases",
        "mailer-daemon: postmaster",
        "postmaster: ops@example.com",
        "nobody: root",
        "www: root,",
        "  webmaster",
        "root: ops@example.com",
    ]
    # Set once, it stays as it is: a second run changes nothing.
    assert local_mail.aliases_text(text, {"root": ["ops@example.com"]}) == text
    # A continuation line goes with the entry it continues.
    assert local_mail.aliases_text(DEBIAN_ALIASES, {"www": ["web@example.com"]}).splitlines()[-1] == (
        "www: web@example.com"
    )
    assert local_mail.parse_aliases(DEBIAN_ALIASES)["www"] == "root, webmaster"


def test_the_virtusertable_maps_name_at_domain_and_nothing_without_a_domain():
    wanted = {"root": ["ops@corp.example"], "postmaster": ["pm@corp.example", "b@corp.example"]}
    assert local_mail.virtuser_text(wanted, "example.test") == (
        "postmaster@example.test\tpm@corp.example\nroot@example.test\tops@corp.example\n"
    )
    assert local_mail.virtuser_text(wanted, None) == ""


def test_the_plan_names_each_changed_alias_and_writes_nothing(tmp_path):
    aliases = tmp_path / "aliases"
    aliases.write_text(DEBIAN_ALIASES)
    (tmp_path / "aliases-link").symlink_to(aliases)
    lookup = platform.lookup(
        "Debian",
        {"sendmail_cf": str(tmp_path / "sendmail.cf"), "aliases_file": str(tmp_path / "aliases-link")},
    )
    planned = local_mail.plan(lookup, {"root": ["ops@example.com"]}, "example.test")
    # The link's target is the file to edit.
    assert planned["files"] == {
        str(aliases): {"root": {"old": None, "new": "ops@example.com"}},
        str(tmp_path / "salt-virtusers"): {"root@example.test": {"old": None, "new": "ops@example.com"}},
    }
    assert aliases.read_text() == DEBIAN_ALIASES
    assert not (tmp_path / "salt-virtusers").exists()


def report(msp, msp_local, masquerade_cf):
    return {
        "hostname": "client1.example.test",
        "msp_split": True,
        "relay": {"msp": msp, "msp_local": msp_local, "mta": None, "mail_hub": None},
    }, {"submit_cf": {**cf.parse(masquerade_cf), "exists": True}, "sendmail_cf": cf.parse("")}


def test_roots_mail_leaves_as_this_host_unless_masqueraded():
    status, cfs = report("[198.51.100.11]", False, "DM\n")
    route = local_mail.root_route(status, cfs, "")
    assert route == {
        "address": "root@client1.example.test",
        "handed_to": "[198.51.100.11]",
        "masquerade": None,
        "alias": None,
        "returns_here": True,
    }
    status, cfs = report("[198.51.100.11]", False, "DMexample.test\n")
    route = local_mail.root_route(status, cfs, "")
    assert (route["address"], route["returns_here"]) == ("root@example.test", False)
    # Handed to this host's MTA: its aliases say where.
    status, cfs = report("[127.0.0.1]", True, "DM\n")
    route = local_mail.root_route(status, cfs, "root: ops@example.test\n")
    assert (route["handed_to"], route["alias"]) == ("this host", "ops@example.test")
