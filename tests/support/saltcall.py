"""The repository, and salt-call from the test virtualenv with this repository's execution modules."""

import atexit
import json
import pathlib
import shutil
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
SALT_CALL = pathlib.Path(sys.executable).with_name("salt-call")


def write_minion_config(config_dir, **options):
    """
    A config dir of salt-call's own: with ``root_dir`` there, salt-call keeps its cache, logs, keys
    and minion_id inside it and never writes this machine's /etc/salt or /var/cache/salt.
    """
    config_dir = pathlib.Path(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "root_dir": str(config_dir),
        "cachedir": str(config_dir / "cache"),
        "log_file": str(config_dir / "minion.log"),
        "file_client": "local",
        # The shared package from the checkout: `-m` names only the execution modules.
        "utils_dirs": [str(REPO / "_utils")],
        **options,
    }
    (config_dir / "minion").write_text(json.dumps(config))  # JSON is YAML
    return config_dir


# One per test run: the hosts' PID namespaces reuse small pids, so a proc file left in a shared cache
# by a killed run looks like a state run still going ("The function state.single is running as PID").
SCRATCH = write_minion_config(tempfile.mkdtemp(prefix="salt-call-", dir="/tmp"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def salt_call_argv(*args, config_dir=None):
    """``salt-call --local`` with ``_modules`` loaded directly (no sync) and JSON output."""
    config = str(config_dir or SCRATCH)
    return [str(SALT_CALL), "--local", "-c", config, "-m", str(REPO / "_modules"), "--out=json", *args]
