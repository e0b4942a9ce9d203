"""
The upgrade submodule (saltext.sendmail.shared.upgrade): sendmail's own restart held back during
its package upgrade through a real policy-rc.d script, run by sh as invoke-rc.d runs it, and the
host's own policy put back byte for byte.
"""

import subprocess

import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import upgrade


def asks(policy, service):
    """policy-rc.d's answer for ``service`` restart, as invoke-rc.d asks it."""
    return subprocess.run(["sh", str(policy), service, "restart"], check=False).returncode


def test_sendmail_alone_is_held_back_and_nothing_is_left(tmp_path):
    policy = tmp_path / "policy-rc.d"
    with upgrade.restarts_held(str(policy)) as held:
        assert held is True
        assert asks(policy, "sendmail") == 101 and asks(policy, "sendmail.service") == 101
        assert asks(policy, "cron") == 0
    assert not policy.exists() and not list(tmp_path.iterdir())


def test_the_hosts_own_policy_still_answers_for_the_rest_and_comes_back(tmp_path):
    policy = tmp_path / "policy-rc.d"
    own = "#!/bin/sh\n# the host's: nothing starts in this container\nexit 101\n"
    policy.write_text(own)
    policy.chmod(0o755)
    with upgrade.restarts_held(str(policy)):
        assert asks(policy, "sendmail") == 101
        assert asks(policy, "cron") == 101  # the host's policy decides
    assert policy.read_text() == own and oct(policy.stat().st_mode & 0o777) == "0o755"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy-rc.d"]


def test_a_policy_left_by_a_killed_run_goes_before_the_next(tmp_path):
    policy = tmp_path / "policy-rc.d"
    policy.write_text(upgrade.policy_script(None))
    with upgrade.restarts_held(str(policy)):
        assert asks(policy, "cron") == 0  # ours, not ours chained to ours
    assert not policy.exists()


def test_install_asks_pkg_install_with_the_restart_held(tmp_path):
    policy = tmp_path / "policy-rc.d"
    calls = []

    def pkg_install(pkgs):
        calls.append((pkgs, asks(policy, "sendmail")))
        return {"sendmail-bin": {"old": "1", "new": "2"}}

    done = upgrade.install(
        {"pkg.install": pkg_install},
        {"policy_rc_d": str(policy)},
        ["sendmail-base", "sendmail-bin"],
        "2",
    )
    assert calls == [([{"sendmail-base": "2"}, {"sendmail-bin": "2"}], 101)]
    assert done == {"changes": {"sendmail-bin": {"old": "1", "new": "2"}}, "restart_held": True}
    assert not policy.exists()
    # Where the vendor has no hook (Red Hat), the upgrade is the same, nothing held.
    assert (
        upgrade.install({"pkg.install": lambda pkgs: {}}, {}, ["sendmail"], "2")["restart_held"] is False
    )


@pytest.mark.parametrize(
    ("packages", "version"), [("sendmail-bin", "2"), ([], "2"), (["x"], ""), (["x"], 2)]
)
def test_bad_arguments_are_refused_before_anything(tmp_path, packages, version):
    with pytest.raises(SaltInvocationError):
        upgrade.install({}, {"policy_rc_d": str(tmp_path / "policy-rc.d")}, packages, version)
    assert not list(tmp_path.iterdir())
