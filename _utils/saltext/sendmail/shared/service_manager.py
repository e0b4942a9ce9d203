"""
The service calls that bring the daemons to a role, planned from the platform table's service
model: ``switch`` (one service that reads the vendor's switch file: Debian, FreeBSD, Solaris) or
``units`` (an MTA unit and an MSP unit: Red Hat). Also whether a service starts at boot, read from
the links that update-rc.d and ``systemctl enable`` make.
"""

import glob
import ipaddress
import os
import time

from salt.exceptions import CommandExecutionError

from . import allowlist, cf, errors, processes, queues


def names(lookup):
    """The services of this host: the MTA's, and the MSP queue runner's where it has its own."""
    return [name for name in (lookup["mta_service"], lookup["msp_service"]) if name]


def msp_runner_for(lookup, role, wanted):
    """
    What runs the MSP queue of a host in ``role`` when ``wanted`` (``daemon`` or ``cron``) is
    asked: a client whose vendor MSP unit is bound to the MTA's (Red Hat's sm-client.service has
    BindTo=sendmail.service, so starting it starts the MTA) gets cron instead of that daemon.
    """
    if role == "client" and lookup["msp_service_binds_mta"]:
        return "cron"
    return wanted


def daemons_of(role, msp_runner):
    """The daemons a host in ``role`` runs, as :func:`processes.running` says them."""
    return {"mta": role == "server", "msp_runner": msp_runner == "daemon"}


def role_of(running):
    """The ``(role, msp_runner)`` whose daemons are ``running``: what brings them back."""
    return ("server" if running["mta"] else "client"), ("daemon" if running["msp_runner"] else "cron")


def actions(lookup, role, running, enabled, msp_runner, restart):
    """
    The service calls that bring the daemons to ``role``: a list of ``(function, service)`` for
    Salt's ``service`` module. ``running`` is :func:`processes.running`, ``enabled`` maps service
    names to whether they start at boot. Only what differs is done, unless ``restart`` (a new cf).
    """
    wanted = daemons_of(role, msp_runner)
    want_mta, want_msp = wanted["mta"], wanted["msp_runner"]
    mta, msp = lookup["mta_service"], lookup["msp_service"]
    if lookup["service_model"] == "units":
        # Each unit on its own: sendmail.service starts -bd whatever /etc/sysconfig says. Its
        # Also=sm-client.service disables the MSP unit with it: enabled again after, if wanted.
        planned = _unit_actions(mta, want_mta, enabled, running["mta"], restart)
        disabled_with_mta = ("disable", mta) in planned
        return planned + _unit_actions(
            msp, want_msp, enabled, running["msp_runner"], restart, disabled_with_mta
        )
    # One service starts and stops every daemon as the switch file says: it stays enabled (a
    # client still runs its MSP queue runner).
    planned = []
    if not enabled.get(mta) and (want_mta or want_msp):
        planned.append(("enable", mta))
    if restart or running["mta"] != want_mta or running["msp_runner"] != want_msp:
        planned.append(("stop", mta))
        if want_mta or want_msp:
            planned.append(("start", mta))
    if msp and want_msp and not enabled.get(msp):
        planned.append(("enable", msp))
    return planned


def _unit_actions(unit, wanted, enabled, running, restart, enable_again=False):
    """A unit brought to ``wanted`` (enabled and running, or disabled and stopped)."""
    planned = []
    if not wanted:
        if enabled.get(unit):
            planned.append(("disable", unit))
        if running:
            planned.append(("stop", unit))
        return planned
    if enable_again or not enabled.get(unit):
        planned.append(("enable", unit))
    if restart or not running:
        planned.append(("restart", unit))
    return planned


def sysv_enabled(rc_dir, service):
    """Whether update-rc.d linked ``service`` to start in ``rc_dir`` (Debian's default runlevel)."""
    return bool(glob.glob(os.path.join(glob.escape(rc_dir), f"S[0-9][0-9]{glob.escape(service)}")))


def unit_enabled(systemd_dir, unit):
    """
    Whether a unit is enabled, read from the ``*.wants`` links that ``systemctl enable`` makes:
    systemctl is not usable where systemd is not PID 1 (containers, chroots).
    """
    try:
        wants = [name for name in os.listdir(systemd_dir) if name.endswith(".wants")]
    except OSError:
        return False
    return any(os.path.lexists(os.path.join(systemd_dir, name, unit)) for name in wants)


def describe(planned):
    """``["stop sendmail", "start sendmail"]`` for a list of actions."""
    return [f"{function} {name}" for function, name in planned]


def manager(lookup, init, salt):
    """
    ``enabled(name)`` and ``call(function, name)`` through Salt's service module (``salt``: the
    caller's Salt functions), except where it fails: on SysV Debian, enabled is read from the rc
    links and enable runs update-rc.d (Salt's debian_service.enable calls insserv, which Debian
    12 does not install). ``init`` is the ``init`` grain.
    """
    sysv = init != "systemd" and lookup.get("sysv_rc_dir")
    run = salt["cmd.run_all"]

    def enabled(name):
        if sysv:
            return sysv_enabled(lookup["sysv_rc_dir"], name)
        return bool(salt["service.enabled"](name))

    def call(function, name):
        if function in ("start", "restart") and init == "systemd":
            clear_failed(run, name)
        if function == "enable" and sysv:
            errors.run_checked(run, ["update-rc.d", name, "enable"], f"update-rc.d {name} enable")
        elif not salt[f"service.{function}"](name):
            raise CommandExecutionError(f"service.{function} {name} failed")

    return enabled, call


def clear_failed(run, unit):
    """
    Clear a unit's failed state before it is started: a unit that hit its start limit (a crash
    loop, or the failed attempt a rollback follows) refuses every start until then. Salt's
    service module has no reset-failed (3006 and 3008), hence systemctl here.
    """
    checked = ["systemctl", "is-failed", "--quiet", unit]
    quiet = {"python_shell": False, "ignore_retcode": True, "output_loglevel": "quiet"}
    failed = run(checked, **quiet)["retcode"] == 0
    if failed:
        errors.run_checked(run, ["systemctl", "reset-failed", unit], f"systemctl reset-failed {unit}")
    return failed


def mta_sockets(sendmail_cf):
    """
    Where the MTA of a parsed sendmail.cf listens: each DaemonPortOptions socket (port 25 on
    every address when it names none, as sendmail does).
    """
    sockets = [socket for found in cf.daemon_listeners(sendmail_cf).values() for socket in found]
    return sockets or [{"address": processes.WILDCARD_ADDRESSES[0], "port": 25}]


def _socket_key(address, port):
    try:
        return ipaddress.ip_address(address), port
    except ValueError:
        return address, port


def unheard(wanted_mta, sockets, listening, daemon_list):
    """
    What the listening sockets say is not yet as the role wants, in sentences (none: done). A
    role with an MTA listens on every one of ``sockets`` (:func:`mta_sockets`); one without has
    no sendmail process listening at all. An MTA refusing for load has closed its sockets for now.
    """
    pids = {daemon["pid"] for daemon in daemon_list}
    if not wanted_mta:
        return [
            f"sendmail (pid {entry['pid']}) still listens on {entry['address']}:{entry['port']}"
            for entry in listening
            if entry["pid"] in pids
        ]
    if any(daemon["kind"] == "mta" and daemon.get("refusing") for daemon in daemon_list):
        return []
    heard = {_socket_key(entry["address"], entry["port"]) for entry in listening}
    return [
        f"the MTA does not listen on {socket['address']}:{socket['port']}"
        for socket in sockets
        if _socket_key(socket["address"], socket["port"]) not in heard
    ]


def converge(lookup, role, msp_runner, restart, test, timeout, enabled, call):
    """
    Bring the daemons to ``role`` (see ``sendmail.services``): plan from what runs and what is
    enabled, make the calls, end MTAs the vendor's stop left running when the role wants none,
    then poll the process list and the listening sockets until they agree or ``timeout`` seconds
    pass. ``enabled(name)``
    and ``call(function, name)`` reach the service manager (the caller's Salt functions).
    """
    allowlist.role(role)
    allowlist.msp_runner(msp_runner)
    msp_runner = msp_runner_for(lookup, role, msp_runner)
    # The cfs read once (the new ones: written before the daemons are brought to them).
    cfs = cf.load_both(lookup)
    msp_dirs = queues.directories(cfs, lookup)["msp"]
    running = processes.running(processes.daemons(msp_dirs=msp_dirs))
    enabled_now = {name: enabled(name) for name in names(lookup)}
    planned = actions(lookup, role, running, enabled_now, msp_runner, bool(restart))
    wanted = daemons_of(role, msp_runner)
    result = {
        "changed": bool(planned),
        "actions": describe(planned),
        "running": running,
        "enabled": enabled_now,
        "wanted": wanted,
        "msp_runner": msp_runner,
        "ended": [],
    }
    if test or not planned:
        return result
    for function, name in planned:
        call(function, name)
    timeout = float(timeout or lookup["services_timeout"])
    deadline = time.monotonic() + timeout
    if not wanted["mta"]:
        result["ended"] = processes.end_mtas(processes.daemons(msp_dirs=msp_dirs), timeout)
    sockets = mta_sockets(cfs["sendmail_cf"])
    # Done when the process list agrees and the sockets too: a daemon can run and listen nowhere.
    while problems := _not_yet(wanted, sockets, msp_dirs):
        if time.monotonic() >= deadline:
            raise CommandExecutionError(
                f"after {', '.join(result['actions'])}, {timeout:g} s later: {'; '.join(problems)}"
            )
        time.sleep(0.2)
    return result


_DAEMON_NAMES = {"mta": "the MTA", "msp_runner": "the MSP queue runner"}


def _not_yet(wanted, sockets, msp_dirs):
    """What differs from the role now: the daemons, else the sockets (:func:`unheard`)."""
    daemon_list = processes.daemons(msp_dirs=msp_dirs)
    now_running = processes.running(daemon_list)
    if now_running != wanted:
        return [
            f"{_DAEMON_NAMES[kind]} {'is not running' if wanted[kind] else 'still runs'}"
            for kind in wanted
            if now_running[kind] != wanted[kind]
        ]
    return unheard(wanted["mta"], sockets, processes.listeners(), daemon_list)
