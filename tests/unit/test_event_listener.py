"""The tests' event listener (tests/support/event_listener.py) never keeps a process from exiting."""

import pathlib
import subprocess
import sys
import time

SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from tests.support.event_listener import Listener
listener = Listener()
listener.start()
# A server loop that stop() did not end (the restarted one of a run that hung): its flag stays set.
# Only the cleanup thread is told to end, as stop() tells it.
listener.running_event.clear()
print("exiting", flush=True)
"""


def test_a_server_loop_left_running_does_not_hold_the_process():
    repo = str(pathlib.Path(__file__).resolve().parents[2])
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(repo=repo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "exiting"
    assert time.monotonic() - start < 30
