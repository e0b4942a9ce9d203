"""
Print the output of ``salt --static --out=json '*' sendmail.status`` (argument ``status``) or of
``sendmail.queue mta messages=True`` (argument ``queue``) from stdin as a few readable lines, for
scripts/demo-fleet.
"""

import json
import sys


def status(returns):
    print(f"{'minion':9} {'role':7} {'listening on 25/465/587':27} {'MSP relays to':16} findings")
    for minion, report in sorted(returns.items()):
        if not isinstance(report, dict):  # the minion's error, as salt returns it
            print(f"{minion:9} {report}")
            continue
        listening = ", ".join(f"{entry['address']}:{entry['port']}" for entry in report["listeners"])
        findings = ", ".join(finding["id"] for finding in report["findings"]) or "-"
        relay = report["relay"]["msp"] or "-"
        print(f"{minion:9} {report['role']:7} {listening or 'nothing':27} {relay:16} {findings}")


def queue(returns):
    for minion, report in sorted(returns.items()):
        for message in report["messages"]:
            recipients = ", ".join(message["recipients"])
            print(f"{minion} MTA queue: {message['id']} from {message['sender']} to {recipients}")


if __name__ == "__main__":
    {"status": status, "queue": queue}[sys.argv[1]](json.load(sys.stdin))
