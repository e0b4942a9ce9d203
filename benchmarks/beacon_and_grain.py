"""
Benchmark what the fleet view costs a minion, side by side in one run: one check of the sendmail
beacon (all five checks) against one sendmail.status call, on an idle host and on one whose MTA
queue holds 100,000 messages, as CPU time (this process and its children) and as the share of one
core at the beacon's default interval; one refresh of the sendmail_metrics beacon (sendmail.prom
rewritten from one status) likewise, against its target of 1% of a core at 60 s; and loading every
grain with and without the sendmail grain; and sendmail.status with the patch level (package,
advisories: the package manager asked once, then read from the cache file) against sendmail.status
without it. Run it with benchmarks/run.sh: it needs an isolated Debian host (scripts/host-run),
whose MTA queue it fills.
"""

import pathlib
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

import salt.loader
from status_vs_mailq import MQUEUE, fill_queue, local_minion_opts

REPO = pathlib.Path(__file__).resolve().parents[1]
# The beacon's own default interval (_beacons/sendmail.py: DEFAULT_INTERVAL).
INTERVAL = 60
SIZES = (0, 100_000)


def cpu_seconds():
    """CPU seconds used so far by this process and its finished children (the version probe)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def median_cpu(func, repeat):
    spent = []
    for _ in range(repeat):
        start = cpu_seconds()
        func()
        spent.append(cpu_seconds() - start)
    return statistics.median(spent)


def main():
    subprocess.run(
        ["sendmail", "-Am", "-odq", "user@example.com"],
        check=True,
        input=b"Subject: benchmark\n\nhello\n",
    )
    [qf] = [path for path in MQUEUE.iterdir() if path.name.startswith("qf")]
    qf_bytes, df_bytes = qf.read_bytes(), qf.with_name("d" + qf.name[1:]).read_bytes()

    root = pathlib.Path(tempfile.mkdtemp(prefix="sm-beacon-"))
    try:
        measure(root, qf_bytes, df_bytes)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure(root, qf_bytes, df_bytes):
    opts = local_minion_opts(root, beacons_dirs=[str(REPO / "_beacons")])
    context = {}
    # As a minion loads them: with the utilities, whose directories (our _utils) are on the path
    # while a module loads.
    mods = salt.loader.minion_mods(opts, context=context, utils=salt.loader.utils(opts))
    beacons = salt.loader.beacons(opts, mods, context=context)

    def check(config):
        # As Salt's beacon loop does: validate the whole configuration, then call the beacon.
        beacons["sendmail.validate"]([{"interval": INTERVAL}])
        return beacons["sendmail.beacon"](config)

    config = [{"_beacon_name": "sendmail"}]
    textfile_dir = root / "node-exporter"
    textfile_dir.mkdir()
    metrics_config = [{"textfile_dir": str(textfile_dir)}, {"_beacon_name": "sendmail_metrics"}]

    def refresh():
        # As Salt's beacon loop does: validate (with the interval), then call the beacon.
        valid, said = beacons["sendmail_metrics.validate"]([{"interval": INTERVAL}, *metrics_config])
        if not valid:
            raise SystemExit(said)
        return beacons["sendmail_metrics.beacon"](metrics_config)

    print("one sendmail beacon check (all five) and one metrics refresh vs one sendmail.status")
    print("(median CPU seconds of 5; share: of one core at the default interval of 60 s)")
    print(
        f"{'messages':>9} {'status':>8} {'beacon':>8} {'beacon/status':>14} {'share':>7} "
        f"{'metrics':>8} {'metrics/status':>15} {'share':>7}"
    )
    # The same module with the patch level off (no package to ask about).
    without_patch = salt.loader.minion_mods(
        {**opts, "sendmail": {"lookup": {"sendmail_package": None}}},
        context={},
        utils=salt.loader.utils(opts),
    )
    patch_rows = []
    for size in SIZES:
        fill_queue(size, qf_bytes, df_bytes)
        check(config)  # the first check: its baseline, and the version probe, cached after
        status_s = median_cpu(mods["sendmail.status"], 5)
        beacon_s = median_cpu(lambda: check(config), 5)
        refresh()
        metrics_s = median_cpu(refresh, 5)
        if (
            f'sendmail_queue_messages{{queue="mta"}} {size}\n'
            not in (textfile_dir / "sendmail.prom").read_text()
        ):
            raise SystemExit("the metrics refresh did not count the queue")
        print(
            f"{size:>9} {status_s:>8.4f} {beacon_s:>8.4f} {beacon_s / status_s:>13.2f}x "
            f"{100 * beacon_s / INTERVAL:>6.3f}% {metrics_s:>8.4f} {metrics_s / status_s:>14.2f}x "
            f"{100 * metrics_s / INTERVAL:>6.3f}%"
        )
        patch_rows.append((size, *status_with_and_without_patch_level(mods, without_patch)))
    fill_queue(0, qf_bytes, df_bytes)

    print("\nsendmail.status with the patch level vs without it (median wall seconds of 9, in turns)")
    print(f"{'messages':>9} {'without':>8} {'with':>8} {'with/without':>13}")
    for size, without_s, with_s in patch_rows:
        print(f"{size:>9} {without_s:>8.4f} {with_s:>8.4f} {with_s / without_s:>12.2f}x")

    with_grain = {**opts, "grains_dirs": [str(REPO / "_grains")]}
    times = {"without": [], "with": []}
    for _ in range(7):
        for name, grain_opts in (("without", opts), ("with", with_grain)):
            start = time.perf_counter()
            loaded = salt.loader.grains(grain_opts, force_refresh=True)
            times[name].append(time.perf_counter() - start)
            if name == "with" and loaded["sendmail"]["provider"] != "sendmail":
                raise SystemExit(f"the sendmail grain is wrong: {loaded['sendmail']}")
    without_s, with_s = (statistics.median(times[name]) for name in times)
    print("\nloading every grain (salt.loader.grains, median of 7 runs each, taken in turns, seconds)")
    print(
        f"without the sendmail grain {without_s:.3f}  with it {with_s:.3f}  "
        f"the grain itself {with_s - without_s:.3f}  ratio {with_s / without_s:.2f}x"
    )


def status_with_and_without_patch_level(mods, without_patch):
    """Median wall seconds of status without and with the patch level (its cache warm)."""
    if mods["sendmail.status"]()["package"] is None:
        raise SystemExit("the patch level is missing from sendmail.status")
    times = {"without": [], "with": []}
    for _ in range(9):
        for name, status in (
            ("without", without_patch["sendmail.status"]),
            ("with", mods["sendmail.status"]),
        ):
            start = time.perf_counter()
            status()
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["without"]), statistics.median(times["with"])


if __name__ == "__main__":
    main()
