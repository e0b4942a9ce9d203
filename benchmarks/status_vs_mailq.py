"""
Benchmark sendmail.status against mailq, and salt-call sendmail.status against salt-call test.ping,
measured side by side in one run. Run it with benchmarks/run.sh: it needs an isolated Debian host
(scripts/host-run), whose queues it fills.

Queues of 1,000, 10,000 and 100,000 messages are made from one real message that sendmail queued:
its qf/df pair is copied under new queue ids (sendmail's own id format, creation times spread over
the last hours), so mailq reads real sendmail queue files.
"""

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

import salt.config
import salt.loader

REPO = pathlib.Path(__file__).resolve().parents[1]
MQUEUE = pathlib.Path("/var/spool/mqueue")
ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
SIZES = (1_000, 10_000, 100_000)


def local_minion_opts(root, **extra):
    """
    A masterless minion's options with everything under ``root`` (never /etc/salt or
    /var/cache/salt), loading this checkout's _modules and _utils, its grains loaded; ``extra``:
    more options (beacons_dirs).
    """
    opts = salt.config.minion_config(None)
    opts.update(
        root_dir=str(root),
        cachedir=str(root),
        extension_modules=str(root / "extmods"),
        pki_dir=str(root / "pki"),
        file_client="local",
        module_dirs=[str(REPO / "_modules")],
        utils_dirs=[str(REPO / "_utils")],
        **extra,
    )
    opts["grains"] = salt.loader.grains(opts)
    return opts


def queue_id(created, sequence):
    """An id as sendmail makes it (queue.c): its struct tm's tm_year counts from 1900."""
    tm = time.localtime(created)
    stamp = "".join(
        ID_CHARS[value]
        for value in (
            (tm.tm_year - 1900) % 60,
            tm.tm_mon - 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
        )
    )
    return f"{stamp}{ID_CHARS[sequence // 60 % 60]}{ID_CHARS[sequence % 60]}{sequence:06d}"


def fill_queue(count, qf_bytes, df_bytes):
    for entry in os.scandir(MQUEUE):
        os.unlink(entry.path)
    now = time.time()
    for sequence in range(count):
        qid = queue_id(now - 3600 * 6 + sequence % 21600, sequence)
        (MQUEUE / f"qf{qid}").write_bytes(qf_bytes)
        (MQUEUE / f"df{qid}").write_bytes(df_bytes)
    os.sync()


def median_time(func, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    # One real message, queued by sendmail itself.
    subprocess.run(
        ["sendmail", "-Am", "-odq", "user@example.com"],
        input=b"Subject: benchmark\n\nhello\n",
        check=True,
    )
    [qf] = [entry.path for entry in os.scandir(MQUEUE) if entry.name.startswith("qf")]
    qf_bytes = pathlib.Path(qf).read_bytes()
    df_bytes = pathlib.Path(qf.replace("/qf", "/df")).read_bytes()

    cache = pathlib.Path("/tmp/bench-minion")
    cache.mkdir(exist_ok=True)
    opts = local_minion_opts(cache)
    # salt-call gets a config dir of its own too (root_dir): nothing lands in /etc/salt.
    (cache / "minion").write_text(
        f"root_dir: {cache}\ncachedir: {cache}\nfile_client: local\nutils_dirs: [{REPO / '_utils'}]\n"
    )
    # As a minion loads it: with the utilities (our _utils is on the path while it loads).
    status = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts))["sendmail.status"]

    print("sendmail.status vs mailq on the same MTA queue (median seconds, page cache warm)")
    print(f"{'messages':>9} {'status':>8} {'mailq':>8} {'mailq/status':>13}")
    for size in SIZES:
        fill_queue(size, qf_bytes, df_bytes)
        if status()["queues"]["mta"]["count"] != size:
            raise SystemExit(f"status did not count the {size} messages")
        repeat = 3 if size == SIZES[-1] else 5
        status_s = median_time(status, repeat)
        mailq_s = median_time(lambda: run(["mailq"]), repeat)
        print(f"{size:>9} {status_s:>8.3f} {mailq_s:>8.3f} {mailq_s / status_s:>12.1f}x")

    fill_queue(0, qf_bytes, df_bytes)
    salt_call = [
        str(pathlib.Path(sys.executable).with_name("salt-call")),
        "--local",
        "-c",
        str(cache),
        "-m",
        str(REPO / "_modules"),
        "--out=quiet",
    ]
    print("\nsalt-call --local on an empty queue (median of 7 runs each, taken in turns, seconds)")
    run([*salt_call, "test.ping"])  # the first call fills Salt's caches: not measured
    times = {"test.ping": [], "sendmail.status": []}
    for _ in range(7):
        for function, measured in times.items():
            measured.append(median_time(lambda function=function: run([*salt_call, function]), 1))
    ping_s, status_call_s = (statistics.median(times[name]) for name in times)
    print(
        f"test.ping {ping_s:.3f}  sendmail.status {status_call_s:.3f}  "
        f"ratio {status_call_s / ping_s:.2f}x"
    )
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
