"""
The same source tree pip-installed as a Salt extension: setup.cfg maps _modules and _states into the
saltext.sendmail package, and Salt finds it through the salt.loader entry point (no -m, no sync).
"""

import json
import os
import shutil
import subprocess
import sys

from tests.support.saltcall import REPO, SALT_CALL, write_minion_config

# What a source distribution holds; built from a copy so no build/ or *.egg-info lands in the
# repository (Salt would log errors about an egg-info at the repository root).
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "_saltext", "_modules", "_states")


def test_pip_installed_extension_loads_the_modules_and_states(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True)  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("saltext.sendmail-*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True,
                   capture_output=True)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(site)}
    config_dir = write_minion_config(tmp_path / "salt")

    def salt_call(*args):
        proc = subprocess.run(
            [str(SALT_CALL), "--local", "-c", str(config_dir), "--out=json", *args],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["local"]

    functions = salt_call("sys.list_functions", "sendmail")
    assert {"sendmail.status", "sendmail.build_cf", "sendmail.settings"} <= set(functions)
    states = salt_call("sys.list_state_functions", "sendmail")
    assert set(states) == {"sendmail.client", "sendmail.server", "sendmail.role"}
    assert salt_call("sendmail.check_role", "client", 'relay="[mail.example.com]"') == []
    assert salt_call("sendmail.version")["version"] == "8.17.1.9"
