"""
The report's cost through one syndic layer (issue 36), on the syndic fleet of tests/syndic (a
master of masters, two lower masters with their syndics, three minions, the role applied): in one
run, taken in turns, 5 times each, `salt-run sendmail.report` from the top against the two lower
masters' reports started at once (the same minions, each master judging its own), with the top's
`syndic_wait` at Salt's default 5 s and at 1 s. Prints the medians (wall seconds) and ratios.

    bash benchmarks/syndic_cost            (Salt 3006: syndics do not carry jobs on 3008.4)
"""

import pathlib
import statistics
import subprocess
import sys
import time

import pytest
import yaml

from tests.syndic.test_syndics import fleet  # noqa: F401 - the fixture: the whole topology

ROUNDS = 5


def timed(argv):
    started = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=False, timeout=300)
    return time.perf_counter() - started


def report_argv(master):
    config_dir = pathlib.Path(master.config["conf_file"]).parent
    salt_run = pathlib.Path(sys.executable).parent / "salt-run"
    return [str(salt_run), "-c", str(config_dir), "sendmail.report", "timeout=10", "--out=json"]


def below_at_once(masters):
    started = time.perf_counter()
    runs = [
        subprocess.Popen(report_argv(m), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for m in masters
    ]
    for run in runs:
        run.wait(timeout=300)
    return time.perf_counter() - started


def set_syndic_wait(master, seconds):
    path = pathlib.Path(master.config["conf_file"])
    config = yaml.safe_load(path.read_text())
    config["syndic_wait"] = seconds
    path.write_text(yaml.safe_dump(config))


@pytest.mark.salt_line(3006, only=True)
def test_the_report_through_one_syndic_layer(fleet):  # noqa: F811
    top, lower = fleet["top"], list(fleet["lower"].values())
    rows = []
    for wait in (5, 1):
        set_syndic_wait(top, wait)
        subprocess.run(report_argv(top), capture_output=True, check=False, timeout=300)  # warm
        through, direct = [], []
        for _ in range(ROUNDS):
            through.append(timed(report_argv(top)))
            direct.append(below_at_once(lower))
        rows.append((wait, statistics.median(through), statistics.median(direct)))
    print("\nsyndic_wait  top report  lower masters at once  ratio")
    for wait, through, direct in rows:
        print(f"{wait:>10} s {through:>10.2f} {direct:>22.2f} {through / direct:>6.2f}x")
    (five, through5, _), (one, through1, _) = rows
    share = (through5 - through1) / (five - one)
    print(f"each second of syndic_wait adds {share:.2f} s to the report (of {through5:.2f} s at 5 s)")
