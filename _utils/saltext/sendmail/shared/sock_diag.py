"""
The host's listening TCP sockets from Linux's socket-diagnostics netlink interface (sock_diag,
``ss -ltn`` asks it the same way), and the process that holds each.

Why not psutil here: ``psutil.net_connections`` reads /proc/net/tcp and tcp6, for which the kernel
walks its whole connection table (about 4 ms a file on the benchmarks' machine however few sockets
there are), then every process's descriptors: 6.8 ms of a 10 ms status. Asked for listening
sockets only, the kernel walks its listening table alone; a socket's holder is then looked for
only when an SMTP port listens, and the look stops at the last one found. pyroute2 speaks sock_diag
but is not in Salt's onedir: a dependency on every minion for two fixed-size structs. Elsewhere
(Solaris, FreeBSD, a kernel without sock_diag) :func:`listening` returns None and the caller uses
psutil.
"""

import os
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN = 10
# struct nlmsghdr, then struct inet_diag_req_v2 (family, protocol, ext, pad, states, and an
# inet_diag_sockid of ports, addresses, interface and cookie, all zero: every socket).
_HEADER = struct.Struct("=IHHII")
_REQUEST = struct.Struct("=BBBBI48x")
# struct inet_diag_msg: family, state, timer, retrans; the sockid (ports big-endian, 16-byte
# addresses, interface, cookie); expires, rqueue, wqueue, uid, inode.
_MESSAGE = struct.Struct("=BBBB2s2s16s16sI8xIIIII")


def request(family, sequence=1):
    """The dump request for ``family``'s TCP sockets in the LISTEN state."""
    body = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN)
    flags = NLM_F_REQUEST | NLM_F_DUMP
    return _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, flags, sequence, 0) + body


def parse(data):
    """
    The sockets in one reply: a list of (address, port, inode), and whether the dump is done.
    An error message raises OSError with the kernel's errno.
    """
    found, offset, done = [], 0, False
    while offset + _HEADER.size <= len(data):
        length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            break
        if kind == NLMSG_DONE:
            done = True
        elif kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", data, offset + _HEADER.size)
            if error:
                raise OSError(-error, os.strerror(-error))
        elif kind == SOCK_DIAG_BY_FAMILY:
            found.append(_socket(data, offset + _HEADER.size))
        offset += (length + 3) & ~3
    return found, done


def _socket(data, offset):
    family, _, _, _, port, _, source, _, _, _, _, _, _, inode = _MESSAGE.unpack_from(data, offset)
    size = 4 if family == socket.AF_INET else 16
    address = socket.inet_ntop(family, source[:size])
    return address, struct.unpack("!H", port)[0], inode


def listening():
    """
    Every listening TCP socket, IPv4 and IPv6, as (address, port, inode); None where sock_diag is
    not there to ask (the caller then uses psutil).
    """
    try:
        link = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    except (AttributeError, OSError):
        return None
    found = []
    try:
        with link:
            for sequence, family in enumerate((socket.AF_INET, socket.AF_INET6), start=1):
                link.sendall(request(family, sequence))
                done = False
                while not done:
                    sockets, done = parse(link.recv(65536))
                    found.extend(sockets)
    except OSError:
        return None
    return found


def holders(inodes, proc="/proc"):
    """
    {inode: pid} of the processes holding the socket ``inodes`` (each pid's descriptors read until
    every inode is found; a process that ends meanwhile is passed over). Of processes sharing a
    socket, the one with the lowest pid (the daemon forks its children after it).
    """
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    found = {}
    if not wanted:
        return found
    pids = sorted(int(name) for name in os.listdir(proc) if name.isdigit())
    for pid in pids:
        directory = f"{proc}/{pid}/fd"
        try:
            descriptors = os.listdir(directory)
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(f"{directory}/{descriptor}")
            except OSError:
                continue
            inode = wanted.get(target)
            if inode is not None and inode not in found:
                found[inode] = pid
        if len(found) == len(wanted):
            break
    return found
