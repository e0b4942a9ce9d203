"""
The sendmail processes of this host and the sockets listening for mail: what each daemon is (MTA,
queue runner) read from its process title, and which listeners other hosts can reach.
"""

import ipaddress
import re
import socket

import psutil

from . import allowlist, files, sock_diag

SMTP_PORTS = (25, 465, 587)
# The CIS "MTA local-only" rule names exactly these two addresses.
LOCAL_ONLY_ADDRESSES = ("127.0.0.1", "::1")
# A socket bound to every address of its family: other hosts reach it, and this host too.
WILDCARD_ADDRESSES = ("0.0.0.0", "::")  # noqa: S104 - names, not a binding
_PROCESS_NAMES = frozenset(("sendmail", "sendmail-mta", "sendmail-msp"))


def parse_title(title, msp_dirs=()):
    """
    Classify a sendmail process by its title: ``sendmail: MTA: accepting connections``,
    ``sendmail: MSP: Queue runner@00:15:00 for /var/spool/mqueue-client``... Debian's cfs put
    ``MTA:``/``MSP:`` in the title; others (Red Hat's) do not, so a queue runner without that
    prefix is told by its directory: an MSP runner when it runs one of ``msp_dirs``.

    An MTA above its RefuseLA (or at MaxDaemonChildren) closes its sockets for a while and says
    ``rejecting connections on daemon MTA-v4: load average: 64``: still the MTA, not accepting
    for now; ``refusing`` holds the daemon's name and sendmail's reason.
    """
    kind, accepting, interval, queue_dir, refusing = "other", False, None, None, None
    if "accepting connections" in title:
        kind, accepting = "mta", True
    rejecting = re.search(r"\brejecting connections on daemon (\S+?):? (.+)$", title)
    if rejecting:
        kind = "mta"
        refusing = {"daemon": rejecting.group(1), "reason": rejecting.group(2).strip()}
    runner = re.search(r"\b(?:(MTA|MSP): )?Queue runner@(\d+:\d{2}:\d{2}) for (\S+)", title)
    if runner:
        prefix, interval, queue_dir = runner.group(1), runner.group(2), runner.group(3)
        msp = prefix == "MSP" if prefix else queue_dir in msp_dirs
        kind = "msp-queue-runner" if msp else "mta-queue-runner"
        interval = allowlist.duration_seconds(interval)
    return {
        "kind": kind,
        "accepting": accepting,
        "refusing": refusing,
        "interval": interval,
        "queue_dir": queue_dir,
    }


def argv_queue_interval(argv):
    """The interval of ``-q15m`` / ``-qp15m`` in a sendmail argv, in seconds (None if absent)."""
    for word in argv:
        match = re.fullmatch(r"-qp?(\w+)", word)
        if match:
            return allowlist.duration_seconds(match.group(1))
    return None


def is_exposed(address):
    """True when a listener on ``address`` is reachable from other hosts (CIS local-only rule)."""
    return address not in LOCAL_ONLY_ADDRESSES


def reaches_loopback(address):
    """True when a listener on ``address`` takes this host's own connections to loopback."""
    return address in LOCAL_ONLY_ADDRESSES or address in WILDCARD_ADDRESSES


def pidfile_argv(cf_list):
    """pid -> argv from the PidFile each cf names (sendmail writes its pid, then its command line)."""
    argv_by_pid = {}
    for parsed in cf_list:
        pidfile = parsed["options"].get("PidFile")
        text = files.read_text(pidfile) if pidfile else None
        if not text:
            continue
        lines = text.splitlines()
        if lines and lines[0].strip().isdigit():
            argv_by_pid[int(lines[0])] = lines[1].split() if len(lines) > 1 else []
    return argv_by_pid


def daemons(argv_by_pid=None, msp_dirs=()):
    """
    Every live sendmail process: pid, user, kind, whether it accepts connections, its queue
    interval (from the title, else from the command line in ``argv_by_pid`` or its own) and title.
    ``msp_dirs`` are the MSP queue's directories (see :func:`parse_title`).
    """
    argv_by_pid = argv_by_pid or {}
    found = []
    for proc in psutil.process_iter(["pid", "name", "username", "cmdline", "status"]):
        info = proc.info
        if info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = [word for word in (info["cmdline"] or []) if word]
        title = " ".join(cmdline)
        if info["name"] not in _PROCESS_NAMES and not title.startswith("sendmail:"):
            continue
        parsed = parse_title(title, msp_dirs)
        interval = parsed["interval"]
        if interval is None:
            interval = argv_queue_interval(argv_by_pid.get(info["pid"], cmdline))
        found.append(
            {
                "pid": info["pid"],
                "user": info["username"],
                "kind": parsed["kind"],
                "accepting": parsed["accepting"],
                "refusing": parsed["refusing"],
                "interval": interval,
                "queue_dir": parsed["queue_dir"],
                "title": title,
            }
        )
    return found


def serving(daemon):
    """An MTA daemon that accepts connections, or refuses them for now (load, children)."""
    return daemon["kind"] == "mta" and (daemon["accepting"] or bool(daemon.get("refusing")))


def running(daemon_list):
    """Whether an MTA serves (accepts, or refuses only for load) and whether an MSP runner runs."""
    return {
        "mta": any(serving(daemon) for daemon in daemon_list),
        "msp_runner": any(daemon["kind"] == "msp-queue-runner" for daemon in daemon_list),
    }


def end_mtas(daemon_list, timeout):
    """
    Send SIGTERM to every MTA daemon in ``daemon_list`` (accepting or refusing) and wait up to
    ``timeout`` seconds for each to exit: sendmail's own clean shutdown, which leaves every queue
    file where it is. For daemons the vendor's service does not know (started by hand, with another
    name or cgroup), which its stop leaves running. Returns the ``pid`` and ``title`` of each.
    """
    ended, procs = [], []
    for daemon in daemon_list:
        if not serving(daemon):
            continue
        try:
            proc = psutil.Process(daemon["pid"])
            proc.terminate()
        except psutil.NoSuchProcess:
            continue  # gone on its own since the list was read
        procs.append(proc)
        ended.append({"pid": daemon["pid"], "title": daemon["title"]})
    psutil.wait_procs(procs, timeout=timeout)
    return ended


def listeners():
    """Every TCP socket listening on 25, 465 or 587 in this network namespace, sorted."""
    # A socket whose holder ended between psutil's two reads was held by a forked child too (see
    # _holder): a second look names the process that still holds it.
    for _ in range(2):
        found, vanished = _listening()
        if not vanished:
            break
    return sorted(found, key=lambda entry: (entry["port"], entry["address"]))


def _listening():
    """
    The listening SMTP sockets, and whether a process named for one had ended: from the kernel's
    sock_diag where there is one (:mod:`sock_diag`: a fifth of psutil's cost), else from psutil.
    """
    sockets = sock_diag.listening()
    if sockets is None:
        sockets = [
            (conn.laddr.ip, conn.laddr.port, conn.pid)
            for conn in psutil.net_connections(kind="tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr
        ]
        return _described([entry for entry in sockets if entry[1] in SMTP_PORTS])
    smtp = [entry for entry in sockets if entry[1] in SMTP_PORTS]
    pids = sock_diag.holders({inode for _, _, inode in smtp})
    return _described([(address, port, pids.get(inode)) for address, port, inode in smtp])


def _described(sockets):
    """Each (address, port, pid) with its holder (:func:`_holder`); whether one had ended."""
    holders = {}
    found = []
    for address, port, named in sockets:
        pid, process = named, None
        if named:
            if named not in holders:
                holders[named] = _holder(named)
            pid, process = holders[named] or (named, None)
        found.append(
            {
                "address": address,
                "port": port,
                "pid": pid,
                "process": process,
                "exposed": is_exposed(address),
            }
        )
    return found, None in holders.values()


def _holder(pid):
    """
    The pid and name of the process that holds a listening socket, from the pid psutil gave; None
    when that process has ended. Of the processes that share a socket psutil names the last it
    read, and a queue run or SMTP child that the daemon has just forked holds the daemon's socket
    for a moment: a sendmail's topmost sendmail ancestor is the daemon.
    """
    try:
        proc = psutil.Process(pid)
        name = proc.name()
    except psutil.NoSuchProcess:
        return None
    except psutil.Error:
        return pid, None
    if name in _PROCESS_NAMES:
        try:
            for parent in proc.parents():
                parent_name = parent.name()
                if parent_name not in _PROCESS_NAMES:
                    break
                proc, name = parent, parent_name
        except psutil.Error:
            pass  # an ancestor ended meanwhile: the nearest one read stands
    return proc.pid, name


def global_addresses():
    """
    This host's addresses as other networks can reach them: every interface's IPv4 and IPv6
    address but loopback, link-local and multicast (what SPF must allow for a relay's mail).
    """
    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            ip = ipaddress.ip_address(address.address.split("%")[0])
            if not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified):
                found.append(str(ip))
    return sorted(set(found), key=lambda text: (":" in text, text))
