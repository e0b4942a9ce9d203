"""
Where a `sendmail.status` job's time goes in a minion (benchmarks/run.sh runs it in an isolated
Debian host): each run is a fresh Python, as a job's process is (Salt and psutil already imported,
nothing of ours, an empty __context__), with the minion's cache dir from the run before. Prints the
median milliseconds of each part over 9 runs: the imports, the version probe (and what a cache
file keeps of it), the cfs, the processes and sockets, the queues, the switches, local mail, the
run journal, the patch level and the findings.
"""

import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]

JOB = """
import json, sys, time
import salt.loader, salt.minion, salt.state, psutil  # what a minion's job process already has
sys.path.insert(0, sys.argv[1])
timings = {}
started = time.perf_counter()
from saltext.sendmail.shared import (binary, cf, findings, local_mail, patch_level, platform,
                                     processes, queues, status_report, switches, transaction)
timings["imports"] = time.perf_counter() - started

def timed(module, name, label):
    real = getattr(module, name)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            timings[label] = timings.get(label, 0) + time.perf_counter() - began
    setattr(module, name, wrapper)

for module, name, label in [
    (binary, "info", "version probe"), (cf, "load_both", "both cfs"),
    (processes, "daemons", "processes"), (processes, "listeners", "sockets"),
    (queues, "gather", "queues"), (switches, "facts", "switches"),
    (local_mail, "root_route", "local mail"), (transaction, "interrupted", "run journal"),
    (patch_level, "facts", "patch level"), (findings, "find", "findings"),
]:
    timed(module, name, label)
lookup = platform.lookup("Debian")
began = time.perf_counter()
status_report.status(lookup, {}, 86400, sys.argv[2])
timings["status, all of it"] = time.perf_counter() - began
print(json.dumps({key: value * 1000 for key, value in timings.items()}))
"""


def main():
    cache_dir = tempfile.mkdtemp(prefix="bench-cache-")
    # A copy of the package where Python may write its bytecode, as it does in a minion's extmods
    # (the first run compiles): this session's PYTHONDONTWRITEBYTECODE would hide that.
    utils = pathlib.Path(tempfile.mkdtemp(prefix="bench-utils-")) / "_utils"
    shutil.copytree(REPO / "_utils", utils, ignore=shutil.ignore_patterns("__pycache__"))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    runs = []
    for _ in range(10):
        proc = subprocess.run(
            [sys.executable, "-c", JOB, str(utils), cache_dir],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        runs.append(json.loads(proc.stdout.splitlines()[-1]))
    first, rest = runs[0], runs[1:]
    print("one sendmail.status in a fresh process, as a minion's job runs it (milliseconds;")
    print("the first run with an empty cache dir and no bytecode yet, then the median of 9)")
    print(f"{'part':>20} {'first':>8} {'median':>8}")
    for key in first:
        print(f"{key:>20} {first[key]:>8.1f} {statistics.median(run[key] for run in rest):>8.1f}")


if __name__ == "__main__":
    main()
