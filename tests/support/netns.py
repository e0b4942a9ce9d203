"""
Network namespaces linked to the test run's own namespace by a veth pair, addressed from the
documentation range 198.51.100.0/24: separate "hosts" that reach each other and nothing else.
"""

import contextlib
import subprocess

NETWORK = "198.51.100"


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@contextlib.contextmanager
def linked_netns(name, number):
    """
    ``ip netns`` ``name`` whose ``eth0`` is 198.51.100.<number>, linked to this namespace, where
    198.51.100.1 answers. Yields the host's address; removed afterwards (and before, if a crashed
    run left it).
    """
    host_side = f"smv-{name}"[:15]
    _ip("netns", "delete", name, check=False)
    _ip("link", "delete", host_side, check=False)
    _ip("netns", "add", name)
    try:
        _ip("link", "add", host_side, "type", "veth", "peer", "name", "eth0", "netns", name)
        if _ip("-4", "addr", "show", "to", f"{NETWORK}.1").stdout.strip() == "":
            _ip("addr", "add", f"{NETWORK}.1/32", "dev", "lo")
        _ip("link", "set", host_side, "up")
        _ip("route", "replace", f"{NETWORK}.{number}/32", "dev", host_side)
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{NETWORK}.{number}/24", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        _ip("-n", name, "route", "replace", f"{NETWORK}.1/32", "dev", "eth0")
        yield f"{NETWORK}.{number}"
    finally:
        _ip("link", "delete", host_side, check=False)
        _ip("netns", "delete", name, check=False)
