"""
One outsider that opens many SMTP connections at once and holds them open, idle, from a network
namespace: how many got the greeting and how many a 421 (the relay's per-address limits).
"""

import subprocess
import sys

# One outsider opens many connections at once and holds them open, idle.
FLOOD = r"""
import socket, sys, time
server, count = sys.argv[1], int(sys.argv[2])
conns = [socket.create_connection((server, 25), timeout=10) for _ in range(count)]
greeted = refused = 0
for conn in conns:
    try:
        line = conn.recv(300)
    except OSError:
        line = b""
    greeted += line.startswith(b"220")
    refused += line.startswith(b"421")
print(greeted, refused, flush=True)
sys.stdin.read()  # held open, idle, until the test is done
"""


def flood_from(netns, server, count):
    """FLOOD from ``netns``: (the process holding its connections, greeted, refused)."""
    flood = subprocess.Popen(
        ["ip", "netns", "exec", netns, sys.executable, "-c", FLOOD, server, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        greeted, refused = map(int, flood.stdout.readline().split())
    except ValueError:  # it failed before counting: nothing holds its connections
        flood.stdin.close()
        flood.wait(timeout=30)
        raise
    return flood, greeted, refused
