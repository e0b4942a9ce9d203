"""
The patch level through Salt's real loader (``pkg`` is Salt's aptpkg here) on this machine's own
package database: Debian 12's sendmail-bin, its changelog, and the advisory it fixed.
"""

from tests.support.release import PACKAGE_VERSION, SENDMAIL_VERSION


def test_status_only_reads_the_patch_level_that_patch_level_asked(world, set_lookup, tmp_path):
    # The package database as a file of this test's: "changed" whenever the test writes it.
    database = tmp_path / "status"
    database.write_text("before")
    sendmail = set_lookup({**world.lookup, "package_state": [str(database)]})
    asked = sendmail.patch_level()
    status = sendmail.status()
    assert status["package"] == asked["package"] and status["advisories"] == asked["advisories"]
    assert status["package"]["current"] is True and status["package"]["checked"] > 0
    # A package installed since: status says the answer is out of date, and does not ask again.
    database.write_text("a package was installed")
    assert sendmail.status()["package"] == {**asked["package"], "current": False}
    assert sendmail.patch_level()["package"]["current"] is True
    assert status["package"]["name"] == "sendmail-bin"
    assert status["package"]["version"] == PACKAGE_VERSION
    # Debian 12 (8.17.1.9): the smuggling fix upstream made in 8.18.1 is in +deb12u1, fixed, not
    # open. Debian 13 (8.18.1): no advisory of the table applies.
    upstream = tuple(int(part) for part in SENDMAIL_VERSION.split("."))
    fixed = ["CVE-2023-51765"] if upstream < (8, 18, 1) else []
    assert status["advisories"] == {"open": [], "fixed": fixed}
    assert not {"advisory-open", "security-update-pending"} & {f["id"] for f in status["findings"]}


def test_a_changelog_that_does_not_name_the_fix_leaves_the_advisory_open(world, set_lookup, tmp_path):
    module = set_lookup(
        {
            **world.lookup,
            "package_changelog": str(tmp_path / "missing.gz"),
            "package_state": [str(tmp_path / "state")],
        }
    )
    module.patch_level()
    status = module.status()
    assert status["advisories"] == {"open": ["CVE-2023-51765"], "fixed": []}
    [finding] = [f for f in status["findings"] if f["id"] == "advisory-open"]
    # The world listens on nothing: medium; a relay would make it high.
    assert finding["severity"] == "medium"
    judged = module.compliance(report=status)
    assert judged["unpatched"] is True
