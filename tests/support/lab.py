"""
Real daemons a site's relay meets, from Debian's packages unpacked by scripts/setup.sh into
.cache/lab (never installed on this machine): OpenDKIM as a milter in verify mode (it adds an
Authentication-Results header to every message it sees) and NSD serving a DNS blocklist zone.
Each runs in the foreground under ``setpriv --pdeathsig`` and is stopped after the test.
"""

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import time

LAB = pathlib.Path(__file__).resolve().parents[2] / ".cache" / "lab"
LIBS = f"{LAB}/usr/lib/x86_64-linux-gnu:{LAB}/usr/lib"


def _env():
    return {**os.environ, "LD_LIBRARY_PATH": LIBS}


def _wait(check, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Milter:
    """
    OpenDKIM on ``inet:PORT@127.0.0.1``, by default in verify mode (it stamps what it sees), or
    with the configuration file ``conf`` (a signing relay's); :meth:`start` and :meth:`stop` at will.
    """

    def __init__(self, directory, port=8891, authserv="relay.example.test", conf=None):
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port, self.proc = port, None
        self.socket = f"inet:{port}@127.0.0.1"
        self.conf = pathlib.Path(conf) if conf else self.directory / "opendkim.conf"
        if conf is None:
            self.conf.write_text(
                "Mode v\n"
                f"Socket {self.socket}\n"
                "AlwaysAddARHeader yes\n"
                f"AuthservID {authserv}\n"
                "Background no\n"
                "Syslog no\n"
                f"PidFile {self.directory}/opendkim.pid\n"
            )

    def answers(self):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
            return True
        return False

    def start(self):
        self.proc = subprocess.Popen(
            ["setpriv", "--pdeathsig", "TERM", f"{LAB}/usr/sbin/opendkim", "-f", "-x", str(self.conf)],
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(self.answers, "opendkim")

    def stop(self):
        if self.proc:
            _stop(self.proc)
        _wait(lambda: not self.answers(), "opendkim's stop")


def dns_answers(server, name, timeout=0.3):
    """The A records of ``name`` that ``server`` answers with (a list), or None without an answer."""
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    query += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    query += b"\x00\x01\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(query, (server, 53))
            reply = sock.recv(512)
        except OSError:
            return None
    # The answers follow the question (as sent): each a name pointer, type, class, TTL, length, data.
    count, offset, found = int.from_bytes(reply[6:8], "big"), len(query), []
    for _ in range(count):
        kind, length = int.from_bytes(reply[offset + 2 : offset + 4], "big"), reply[offset + 11]
        if kind == 1 and length == 4:
            found.append(".".join(str(b) for b in reply[offset + 12 : offset + 16]))
        offset += 12 + length
    return found


def blocklist_dns(directory, netns, address, zone, listed):
    """
    NSD in ``netns`` on ``address`` port 53, serving ``zone`` with ``127.0.0.2`` for each IPv4
    address of ``listed`` (the DNSBL form: its octets reversed); every other name does not exist.
    """
    records = "".join(f"{'.'.join(reversed(ip.split('.')))}\tIN\tA\t127.0.0.2\n" for ip in listed)
    return zone_dns(directory, netns, address, zone, records)


def txt_line(name, strings):
    """A zone file's TXT record of ``name`` (absolute) made of ``strings`` (each at most 255 bytes)."""
    quoted = " ".join('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"' for text in strings)
    return f"{name}.\tIN\tTXT\t{quoted}\n"


@contextlib.contextmanager
def zone_dns(directory, netns, address, zone, records):
    """
    NSD in ``netns`` on ``address`` port 53, authoritative for ``zone`` with the zone file lines
    ``records`` (and an empty root: every other name does not exist).
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{zone}.zone").write_text(
        f"$ORIGIN {zone}.\n$TTL 60\n"
        f"@\tIN\tSOA\tns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60\n"
        f"@\tIN\tNS\tns.{zone}.\nns\tIN\tA\t{address}\n{records}"
    )
    # The root too, empty: every other name is an authoritative NXDOMAIN at once (a refusal would
    # be a temporary failure to sendmail, and its canonify lookups would defer every recipient).
    (directory / "root.zone").write_text(
        f"$ORIGIN .\n$TTL 60\n@\tIN\tSOA\tns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60\n"
        f"@\tIN\tNS\tns.{zone}.\n"
    )
    conf = directory / "nsd.conf"
    conf.write_text(
        "server:\n"
        f'  ip-address: {address}\n  port: 53\n  username: ""\n  chroot: ""\n'
        f'  zonesdir: "{directory}"\n  pidfile: "{directory}/nsd.pid"\n'
        f'  xfrdfile: "{directory}/xfrd.state"\n  zonelistfile: "{directory}/zone.list"\n'
        f'  xfrdir: "{directory}"\n  logfile: "{directory}/nsd.log"\n  database: ""\n'
        "  server-count: 1\n  verbosity: 1\n"
        "remote-control:\n  control-enable: no\n"
        f"zone:\n  name: {zone}\n  zonefile: {zone}.zone\n"
        "zone:\n  name: .\n  zonefile: root.zone\n"
    )
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            netns,
            "setpriv",
            "--pdeathsig",
            "TERM",
            f"{LAB}/usr/sbin/nsd",
            "-d",
            "-c",
            str(conf),
        ],
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its server and xfrd processes with it: stopped as one group
    )
    try:
        _wait(lambda: dns_answers(address, f"ns.{zone}") is not None, "nsd")
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        _stop(proc)
        # The next NSD on this address must not meet this one's servers.
        _wait(lambda: dns_answers(address, f"ns.{zone}") is None, "nsd's stop")
