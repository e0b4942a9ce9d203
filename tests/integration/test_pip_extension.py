"""
The same source tree pip-installed as a Salt extension: setup.cfg maps _modules, _states, ... and
_utils/saltext/sendmail (with the shared package) into the saltext.sendmail package, and Salt finds it through the salt.loader entry point (no -m, no sync).

Installed the way ``salt-pip install`` does on an onedir host: with pip's resolver, into an
environment that already has Salt (a copy of the one running the tests: 3006.29 or 3008.4), which
must keep its Salt. --no-index: nothing may need fetching.
"""

import ast
import json
import os
import pathlib
import shutil
import subprocess
import sys

import salt.version

from tests.support.release import SENDMAIL_VERSION
from tests.support.saltcall import REPO, write_minion_config

# What a source distribution holds; built from a copy so no build/ or *.egg-info lands in the
# repository (Salt would log errors about an egg-info at the repository root).
SOURCES = (
    "setup.cfg",
    "LICENSE",
    "pyproject.toml",
    "README.md",
    "_utils",
    "_modules",
    "_states",
    "_grains",
    "_beacons",
    "_runners",
    "_output",
)
# What each of Salt's loaders finds of ours, asked in the operator's environment.
LOADERS = """
import json, sys
import salt.config, salt.loader
minion = salt.config.minion_config(sys.argv[1])
master = salt.config.master_config(sys.argv[2])
found = {
    "grains": salt.loader.grains(minion).get("sendmail", {}).get("provider"),
    "beacons": sorted(n for n in salt.loader.beacons(minion, {}) if n.startswith("sendmail")),
    "runners": sorted(n for n in salt.loader.runner(master) if n.startswith("sendmail.")),
    "output": "sendmail_report" in salt.loader.outputters(master),
}
print(json.dumps(found))
"""
PUBLIC = sorted(
    node.name
    for node in ast.parse((REPO / "_modules" / "sendmail.py").read_text()).body
    if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
)


def test_pip_keeps_the_operators_salt_and_salt_loads_the_extension(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # A copy has no git history for setuptools-scm to read a version from: give it one, as a
    # release would get from its tag (tests/integration/test_release.py builds from a tagged clone).
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(source)],
        check=True,
        capture_output=True,
        env={**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION": "1.2.3"},
    )
    [wheel] = (tmp_path / "dist").glob("saltext[._]sendmail-1.2.3-*.whl")

    # The operator's environment: a copy of this one, with its Salt.
    env = tmp_path / "env"
    shutil.copytree(sys.prefix, env, symlinks=True)
    python = env / "bin" / "python"

    def packages():
        listed = subprocess.run(
            [str(python), "-m", "pip", "--disable-pip-version-check", "list", "--format=json"],
            capture_output=True,
            text=True,
            check=True,
        )
        return {(entry["name"].lower(), entry["version"]) for entry in json.loads(listed.stdout)}

    before = packages()
    installed = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "install", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    # Only the extension came in; Salt and everything else stayed as they were.
    assert packages() - before == {("saltext.sendmail", "1.2.3")}
    assert before - packages() == set()
    assert ("salt", salt.version.__version__) in before
    kept = subprocess.run(
        [str(python), "-c", "import salt.version; print(salt.version.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert kept.stdout.strip() == salt.version.__version__

    # No utils_dirs: the shared package must come from the wheel, not from the checkout.
    config_dir = write_minion_config(tmp_path / "salt", utils_dirs=[])

    def salt_call(*args):
        proc = subprocess.run(
            [
                str(python),
                "-c",
                "import salt.scripts; salt.scripts.salt_call()",
                "--local",
                "-c",
                str(config_dir),
                "--out=json",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["local"]

    # Exactly the public functions: no submodule function leaks out as a CLI function.
    assert salt_call("sys.list_functions", "sendmail") == [f"sendmail.{name}" for name in PUBLIC]
    states = salt_call("sys.list_state_functions", "sendmail")
    assert set(states) == {"sendmail.client", "sendmail.server", "sendmail.role", "sendmail.metrics"}
    assert salt_call("sendmail.check_role", "client", 'relay="[mail.example.com]"') == []
    assert salt_call("sendmail.version")["version"] == SENDMAIL_VERSION
    # The fleet view's parts: the grain and the beacon on a minion, the runner and its outputter
    # on a master, all from the entry point.
    master_dir = tmp_path / "master"
    master_dir.mkdir()
    (master_dir / "master").write_text(json.dumps({"root_dir": str(master_dir)}))
    loaders = subprocess.run(
        [str(python), "-c", LOADERS, str(config_dir / "minion"), str(master_dir / "master")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    shared = subprocess.run(
        [
            str(python),
            "-c",
            "import saltext.sendmail as s, saltext.sendmail.shared as shared; print(shared.__file__); print(s.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shared.stdout.startswith(str(env)) and "site-packages" in shared.stdout, shared.stdout
    assert shared.stdout.split()[1] == "1.2.3"  # which release this host runs
    # The alert rules ship beside the code.
    rules = pathlib.Path(shared.stdout.split()[0]).parents[1] / "prometheus" / "sendmail.rules.yml"
    assert "SendmailHostNeedsPatch" in rules.read_text()
    assert json.loads(loaders.stdout.splitlines()[-1]) == {
        "grains": "sendmail",
        "beacons": [
            "sendmail.beacon",
            "sendmail.validate",
            "sendmail_metrics.beacon",
            "sendmail_metrics.validate",
        ],
        "runners": ["sendmail.patch_relays", "sendmail.report"],
        "output": True,
    }
