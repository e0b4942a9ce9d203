"""
The ``sendmail`` grain through Salt's real grains loader, on a private sendmail host (``world``):
it says what the host plays now, follows a change at the next load, and never fails the load.
"""

import copy
import json
import os
import subprocess
import sys

import salt.loader

from tests.functional.conftest import REPO
from tests.support.release import SENDMAIL_VERSION


def grains(base_opts, lookup):
    opts = copy.deepcopy(base_opts)
    opts.update(grains_dirs=[str(REPO / "_grains")], sendmail={"lookup": lookup})
    return salt.loader.grains(opts, force_refresh=True)


def test_the_grain_is_the_role_status_sees_and_follows_it(base_opts, sendmail, world):
    sendmail.patch_level()
    status = sendmail.status()
    quiet = grains(base_opts, world.lookup)["sendmail"]
    # The package as sendmail.patch_level last read it from dpkg (this machine's sendmail-bin).
    package = {key: status["package"][key] for key in ("name", "version", "candidate", "checked")}
    assert quiet == {
        "installed": True,
        "provider": "sendmail",
        "version": SENDMAIL_VERSION,
        "role": status["role"],
        "package": package,
    }
    assert status["package"]["name"] == "sendmail-bin"
    assert quiet["role"] != "server"
    world.start_daemon("-bD", "-ODaemonPortOptions=Name=MTA,Addr=0.0.0.0,Port=25", wait_port=25)
    assert grains(base_opts, world.lookup)["sendmail"]["role"] == "server"


def test_no_shared_package_no_grain_and_the_other_grains_load(base_opts, world, tmp_path):
    # A minion that synced _grains but not _utils (saltutil.sync_grains alone): a fresh Python
    # without the checkout's _utils on its path, through Salt's real grains loader.
    script = (
        "import json, sys, salt.config, salt.loader\n"
        "opts = salt.config.minion_config(None)\n"
        "opts.update(json.loads(sys.argv[1]))\n"
        "grains = salt.loader.grains(opts, force_refresh=True)\n"
        "print(json.dumps(['sendmail' in grains, grains.get('os_family')]))\n"
    )
    opts = {
        "root_dir": str(tmp_path),
        "cachedir": str(tmp_path / "cache"),
        "extension_modules": str(tmp_path / "extmods"),
        "grains_dirs": [str(REPO / "_grains")],
        "log_file": str(tmp_path / "minion.log"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(opts)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": ""},
        cwd=tmp_path,
    )
    assert json.loads(proc.stdout.splitlines()[-1]) == [False, "Debian"]


def test_a_binary_that_is_not_sendmail_is_an_unknown_role(base_opts, world, tmp_path):
    other = grains(base_opts, {**world.lookup, "sendmail_bin": str(tmp_path)})["sendmail"]
    assert (other["provider"], other["role"]) == ("other", "unknown")


def test_a_grain_that_fails_still_loads_and_says_unknown(base_opts, world):
    # Whatever goes wrong while it looks (here a cf path that is no path), the minion must start.
    loaded = grains(base_opts, {**world.lookup, "sendmail_cf": ["not", "a", "path"]})
    assert loaded["sendmail"] == {
        "installed": None,
        "provider": None,
        "version": None,
        "role": "unknown",
        "package": None,
    }
    assert loaded["os_family"] == "Debian"  # every other grain is there
