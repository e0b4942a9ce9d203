"""The repository, and salt-call from the test virtualenv with this repository's execution modules."""

import atexit
import pathlib
import shutil
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
SALT_CALL = pathlib.Path(sys.executable).with_name("salt-call")


# Without a config dir of its own, salt-call would cache and log in this machine's /var. One per
# test run: the hosts' PID namespaces reuse small pids, so a proc file left in a shared cache by a
# killed run looks like a state run still going ("The function state.single is running as PID 23").
SCRATCH = tempfile.mkdtemp(prefix="salt-call-", dir="/tmp")
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def salt_call_argv(*args, config_dir=None):
    """``salt-call --local`` with ``_modules`` loaded directly (no sync) and JSON output."""
    if config_dir:
        config = ["-c", str(config_dir)]
    else:
        config = [f"--cachedir={SCRATCH}/cache", f"--log-file={SCRATCH}/minion.log"]
    return [str(SALT_CALL), "--local", *config, "-m", str(REPO / "_modules"), "--out=json", *args]
