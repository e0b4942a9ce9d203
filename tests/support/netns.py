"""
Network namespaces linked by veth pairs to a bridge in the test run's own namespace, addressed from the
documentation range 198.51.100.0/24: separate "hosts" that reach each other and nothing else.
"""

import contextlib
import subprocess

NETWORK = "198.51.100"


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


BRIDGE = "smbr0"


def bridge():
    """The test network: a bridge in this (the test run's) namespace holding 198.51.100.1/24."""
    if _ip("link", "show", BRIDGE, check=False).returncode:
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{NETWORK}.1/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
    return BRIDGE


@contextlib.contextmanager
def linked_netns(name, number):
    """
    ``ip netns`` ``name`` whose ``eth0`` is 198.51.100.<number>, plugged into the test network's
    bridge, where 198.51.100.1 (this namespace) and the other linked hosts answer. Yields the host's
    address; removed afterwards (and before, if a crashed run left it).
    """
    host_side = f"smv-{name}"[:15]
    _ip("netns", "delete", name, check=False)
    _ip("link", "delete", host_side, check=False)
    _ip("netns", "add", name)
    try:
        _ip("link", "add", host_side, "type", "veth", "peer", "name", "eth0", "netns", name)
        _ip("link", "set", host_side, "master", bridge())
        _ip("link", "set", host_side, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{NETWORK}.{number}/24", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        yield f"{NETWORK}.{number}"
    finally:
        _ip("link", "delete", host_side, check=False)
        _ip("netns", "delete", name, check=False)
