"""
The report's job against the job it is built on, in one process on the master (benchmarks/fleet
runs it with the master's config): ``sendmail.report`` through Salt's RunnerClient against
``sendmail.status`` through the LocalClient, over the same minions, in turns. Each CLI call also
starts a Python process (and salt-run a MasterMinion); this leaves that fixed start-up out.
"""

import statistics
import sys
import time

import salt.client
import salt.config
import salt.runner


def main(master_config):
    opts = salt.config.master_config(master_config)
    runner = salt.runner.RunnerClient(opts)
    with salt.client.get_local_client(mopts=opts) as client:
        jobs = {
            "salt '*' sendmail.status": lambda: client.cmd("*", "sendmail.status", timeout=120),
            "salt-run sendmail.report": lambda: runner.cmd("sendmail.report", print_event=False),
        }
        for job in jobs.values():  # warm: loaders, connections
            job()
        times = {name: [] for name in jobs}
        for _ in range(7):
            for name, job in jobs.items():
                start = time.perf_counter()
                job()
                times[name].append(time.perf_counter() - start)
    status_s, report_s = (statistics.median(times[name]) for name in jobs)
    print("the same jobs in one process on the master (median of 7 runs each, taken in turns, seconds)")
    print(
        f"sendmail.status job {status_s:.3f}  sendmail.report {report_s:.3f}  "
        f"ratio {report_s / status_s:.2f}x (target: within 1.2x)"
    )


if __name__ == "__main__":
    main(sys.argv[1])
