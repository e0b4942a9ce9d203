"""The listening sockets from the kernel's sock_diag, and who holds them."""

import os
import socket
import struct

import pytest

from saltext.sendmail.shared import processes, sock_diag


def message(family, address, port, inode, state=sock_diag.TCP_LISTEN):
    """One SOCK_DIAG_BY_FAMILY message as the kernel writes it (inet_diag_msg)."""
    packed = socket.inet_pton(family, address).ljust(16, b"\0")
    body = sock_diag._MESSAGE.pack(
        family, state, 0, 0, struct.pack("!H", port), b"\0\0", packed, b"\0" * 16, 0, 0, 0, 0, 0, inode
    )
    return sock_diag._HEADER.pack(16 + len(body), sock_diag.SOCK_DIAG_BY_FAMILY, 2, 1, 0) + body


def done():
    return sock_diag._HEADER.pack(20, sock_diag.NLMSG_DONE, 2, 1, 0) + b"\0\0\0\0"


def test_the_request_asks_for_one_familys_listening_tcp_sockets():
    data = sock_diag.request(socket.AF_INET6, sequence=7)
    length, kind, flags, sequence, _ = sock_diag._HEADER.unpack_from(data)
    assert (length, kind, sequence) == (len(data), sock_diag.SOCK_DIAG_BY_FAMILY, 7)
    assert flags == sock_diag.NLM_F_REQUEST | sock_diag.NLM_F_DUMP
    family, protocol, _, _, states = struct.unpack_from("=BBBBI", data, 16)
    assert (family, protocol, states) == (socket.AF_INET6, socket.IPPROTO_TCP, 1 << 10)
    assert len(data) == 16 + 56  # nlmsghdr + inet_diag_req_v2


def test_a_reply_gives_each_sockets_address_port_and_inode_until_done():
    reply = message(socket.AF_INET, "127.0.0.1", 25, 41) + message(socket.AF_INET6, "::", 587, 42)
    assert sock_diag.parse(reply) == ([("127.0.0.1", 25, 41), ("::", 587, 42)], False)
    assert sock_diag.parse(done()) == ([], True)


def test_an_error_reply_raises_the_kernels_errno():
    error = (
        sock_diag._HEADER.pack(36, sock_diag.NLMSG_ERROR, 0, 1, 0) + struct.pack("=i", -13) + b"\0" * 16
    )
    with pytest.raises(OSError) as raised:
        sock_diag.parse(error)
    assert raised.value.errno == 13


def test_the_kernel_names_a_socket_listening_here_and_its_holder():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port, inode = listener.getsockname()[1], os.fstat(listener.fileno()).st_ino
        found = sock_diag.listening()
        assert ("127.0.0.1", port, inode) in found
        assert sock_diag.holders({inode}) == {inode: os.getpid()}
    assert ("127.0.0.1", port, inode) not in sock_diag.listening()


def test_holders_read_each_process_descriptors_and_pass_over_what_vanished(tmp_path):
    for pid, links in {"7": {"3": "socket:[100]"}, "9": {"4": "socket:[100]", "5": "pipe:[1]"}}.items():
        (tmp_path / pid / "fd").mkdir(parents=True)
        for descriptor, target in links.items():
            (tmp_path / pid / "fd" / descriptor).symlink_to(target)
    (tmp_path / "11").mkdir()  # a process without fd/ (it ended, or is not ours to read)
    (tmp_path / "self").mkdir()
    assert sock_diag.holders({100}, proc=str(tmp_path)) == {100: 7}
    assert sock_diag.holders({200}, proc=str(tmp_path)) == {}
    assert sock_diag.holders(set(), proc=str(tmp_path)) == {}


def test_without_sock_diag_the_listeners_come_from_psutil(monkeypatch):
    monkeypatch.setattr(sock_diag, "listening", lambda: None)
    conn = type("Conn", (), {})
    listening = conn()
    listening.status, listening.pid = "LISTEN", None
    listening.laddr = type("Addr", (), {"ip": "::1", "port": 25})()
    other = conn()
    other.status, other.pid = "LISTEN", None
    other.laddr = type("Addr", (), {"ip": "0.0.0.0", "port": 8080})()
    monkeypatch.setattr(processes.psutil, "net_connections", lambda kind: [listening, other])
    found, vanished = processes._listening()
    assert found == [{"address": "::1", "port": 25, "pid": None, "process": None, "exposed": False}]
    assert vanished is False
