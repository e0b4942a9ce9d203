"""The table of benchmarks/fleet_scale from its result lines (one per size) on stdin."""

import itertools
import os
import sys


def main():
    rows = []
    for line in sys.stdin:
        n, first, ping, status, report, cpu_before, cpu_after, rss = line.split()
        rows.append(
            {
                "n": int(n),
                "first": int(first) / 1000,
                "ping": int(ping) / 1000,
                "status": int(status) / 1000,
                "report": int(report) / 1000,
                "cpu": float(cpu_after) - float(cpu_before),
                "rss": float(rss),
            }
        )
    print(f"{os.cpu_count()} cores; medians of 5 runs taken in turns, wall seconds;")
    print("the master's CPU seconds over those 15 runs, its memory after them; every minion answered")
    print(
        f"{'minions':>7} {'test.ping':>9} {'status':>7} {'report':>7} {'status/ping':>11} "
        f"{'report/status':>13} {'first status':>12} {'master CPU s':>12} {'master MiB':>10}"
    )
    for row in rows:
        print(
            f"{row['n']:>7} {row['ping']:>9.2f} {row['status']:>7.2f} {row['report']:>7.2f} "
            f"{row['status'] / row['ping']:>11.2f} {row['report'] / row['status']:>13.2f} "
            f"{row['first']:>12.2f} {row['cpu']:>12.1f} {row['rss']:>10.0f}"
        )
    for low, high in itertools.pairwise(rows):

        def slope(key, low=low, high=high):
            return (high[key] - low[key]) / (high["n"] - low["n"])

        print(
            f"each minion from {low['n']} to {high['n']}: test.ping {slope('ping'):.3f} s, "
            f"status {slope('status'):.3f} s, report {slope('report'):.3f} s"
        )


if __name__ == "__main__":
    main()
