"""The patch_level submodule (saltext.sendmail.shared.patch_level): package, advisories, the cache."""

import gzip
import pathlib

from saltext.sendmail.shared import patch_level, platform

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
DEBIAN_CHANGELOG = pathlib.Path("/usr/share/doc/sendmail-bin/changelog.Debian.gz")


def test_an_advisory_applies_to_every_release_before_its_fix():
    assert [row["id"] for row in patch_level.affecting("8.17.1.9")] == ["CVE-2023-51765"]
    assert [row["id"] for row in patch_level.affecting("8.18.1")] == []
    assert len(patch_level.affecting("8.14.3")) == 3
    # Every row says where it comes from.
    assert all(row["source"] and row["fixed_in"] for row in patch_level.ADVISORIES)


def test_debians_changelog_says_which_cves_it_fixed(tmp_path):
    # This machine's own sendmail-bin (8.17.1.9-2+deb12u2) names the smuggling fix of +deb12u1.
    assert "CVE-2023-51765" in patch_level.cves_named(gzip.decompress(DEBIAN_CHANGELOG.read_bytes()))
    lookup = platform.lookup("Debian", {"package_changelog": str(tmp_path / "{package}.gz")})
    (tmp_path / "sendmail-bin.gz").write_bytes(gzip.compress(b"  * Fix CVE-2023-51765 (Closes: #1)\n"))
    assert patch_level.changelog_cves(lookup, "sendmail-bin", run=None) == ["CVE-2023-51765"]
    assert patch_level.changelog_cves(lookup, "missing", run=None) == []


def test_red_hats_rpm_changelog_is_read_the_same_way():
    text = (DATA / "redhat-rpm-changelog.txt").read_text()

    def rpm(argv, **_):
        assert argv == ["rpm", "-q", "--changelog", "sendmail"]
        return {"retcode": 0, "stdout": text, "stderr": ""}

    assert patch_level.changelog_cves(platform.lookup("RedHat"), "sendmail", rpm) == ["CVE-2023-51765"]


def test_the_package_manager_is_asked_once_until_its_state_changes_and_status_never_asks(tmp_path):
    state = tmp_path / "status"
    state.write_text("x")
    cache = str(tmp_path / "cache")
    lookup = {
        "sendmail_package": "sendmail-bin",
        "package_changelog": str(DEBIAN_CHANGELOG),
        "package_state": [str(state)],
    }
    asked = []

    def ask(name):
        asked.append(name)
        return "8.17.1.9-2+deb12u2", "8.17.1.9-2+deb12u3"

    # Never asked: the package is named, nothing else is known.
    assert patch_level.facts(lookup, "8.17.1.9", cache) == {
        "package": {
            "name": "sendmail-bin",
            "version": None,
            "candidate": None,
            "checked": None,
            "current": False,
        },
        "advisories": None,
    }
    assert patch_level.ask(lookup, ask, None, cache, now=1765000000) is True
    first = patch_level.facts(lookup, "8.17.1.9", cache)
    assert first == {
        "package": {
            "name": "sendmail-bin",
            "version": "8.17.1.9-2+deb12u2",
            "candidate": "8.17.1.9-2+deb12u3",
            "checked": 1765000000,
            "current": True,
        },
        "advisories": {"open": [], "fixed": ["CVE-2023-51765"]},
    }
    assert patch_level.ask(lookup, ask, None, cache) is False
    assert len(asked) == 1
    # A package installed (or the lists refreshed): the last answer is said to be out of date,
    # and only ask() asks again.
    state.write_text("a package was installed")
    assert patch_level.facts(lookup, "8.17.1.9", cache)["package"]["current"] is False
    assert len(asked) == 1
    assert patch_level.ask(lookup, ask, None, cache) is True
    assert patch_level.facts(lookup, "8.17.1.9", cache)["package"]["current"] is True
    assert patch_level.ask(lookup, ask, None, cache, force=True) is True
    assert len(asked) == 3
    # The grain reads the last answer.
    assert patch_level.cached_package(cache)["candidate"] == "8.17.1.9-2+deb12u3"


def test_an_advisory_the_changelog_does_not_name_is_open(tmp_path):
    lookup = {
        "sendmail_package": "sendmail-bin",
        "package_changelog": str(tmp_path / "none.gz"),
        "package_state": [],
    }
    patch_level.ask(lookup, lambda name: ("8.17.1.9-2", None), None, str(tmp_path))
    found = patch_level.facts(lookup, "8.17.1.9", str(tmp_path))
    assert found["advisories"] == {"open": ["CVE-2023-51765"], "fixed": []}
    assert patch_level.facts({"sendmail_package": None}, "8.17.1.9", str(tmp_path)) == {
        "package": None,
        "advisories": None,
    }


def test_a_package_the_package_manager_does_not_know_says_nothing_of_advisories(tmp_path):
    lookup = {"sendmail_package": "sendmail", "package_changelog": "rpm", "package_state": []}
    patch_level.ask(lookup, lambda name: (None, None), None, str(tmp_path), now=1765000000)
    found = patch_level.facts(lookup, "8.17.1.9", str(tmp_path))
    assert found == {
        "package": {
            "name": "sendmail",
            "version": None,
            "candidate": None,
            "checked": 1765000000,
            "current": True,
        },
        "advisories": None,
    }
