"""
The ``sendmail`` grain through Salt's real grains loader, on a private sendmail host (``world``):
it says what the host plays now, follows a change at the next load, and never fails the load.
"""

import copy

import salt.loader

from tests.functional.conftest import REPO
from tests.support.release import SENDMAIL_VERSION


def grains(base_opts, lookup, module_dirs=(REPO / "_modules",)):
    opts = copy.deepcopy(base_opts)
    opts.update(
        grains_dirs=[str(REPO / "_grains")],
        module_dirs=[str(d) for d in module_dirs],
        sendmail={"lookup": lookup},
    )
    return salt.loader.grains(opts, force_refresh=True)


def test_the_grain_is_the_role_status_sees_and_follows_it(base_opts, sendmail, world):
    status = sendmail.status()
    quiet = grains(base_opts, world.lookup)["sendmail"]
    # The package as the last status read it from dpkg (this machine's sendmail-bin).
    assert quiet == {
        "installed": True,
        "provider": "sendmail",
        "version": SENDMAIL_VERSION,
        "role": status["role"],
        "package": status["package"],
    }
    assert status["package"]["name"] == "sendmail-bin"
    assert quiet["role"] != "server"
    world.start_daemon("-bD", "-ODaemonPortOptions=Name=MTA,Addr=0.0.0.0,Port=25", wait_port=25)
    assert grains(base_opts, world.lookup)["sendmail"]["role"] == "server"


def test_no_execution_module_no_grain(base_opts, world, tmp_path):
    assert "sendmail" not in grains(base_opts, world.lookup, module_dirs=[tmp_path])


def test_a_binary_that_is_not_sendmail_is_an_unknown_role(base_opts, world, tmp_path):
    other = grains(base_opts, {**world.lookup, "sendmail_bin": str(tmp_path)})["sendmail"]
    assert (other["provider"], other["role"]) == ("other", "unknown")


def test_a_grain_that_fails_still_loads_and_says_unknown(base_opts, world, tmp_path):
    # A broken copy of the execution module (a half-finished sync): the minion must still start.
    (tmp_path / "sendmail").mkdir()
    (tmp_path / "sendmail" / "__init__.py").write_text("raise RuntimeError('half synced')\n")
    loaded = grains(base_opts, world.lookup, module_dirs=[tmp_path])
    assert loaded["sendmail"] == {
        "installed": None,
        "provider": None,
        "version": None,
        "role": "unknown",
        "package": None,
    }
    assert loaded["os_family"] == "Debian"  # every other grain is there
