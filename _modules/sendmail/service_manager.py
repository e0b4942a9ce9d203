"""
The service calls that bring the daemons to a role, planned from the platform table's service
model: ``switch`` (one service that reads the vendor's switch file: Debian, FreeBSD, Solaris) or
``units`` (an MTA unit and an MSP unit: Red Hat). Also whether a service starts at boot, read from
the links that update-rc.d and ``systemctl enable`` make.
"""

import glob
import os
import time

from salt.exceptions import CommandExecutionError

from . import cf, errors, processes, queues


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


def actions(lookup, role, running, enabled, msp_runner, restart):
    """
    The service calls that bring the daemons to ``role``: a list of ``(function, service)`` for
    Salt's ``service`` module. ``running`` is :func:`processes.running`, ``enabled`` maps service
    names to whether they start at boot. Only what differs is done, unless ``restart`` (a new cf).
    """
    want_mta = role == "server"
    want_msp = msp_runner == "daemon"
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

    def enabled(name):
        if sysv:
            return sysv_enabled(lookup["sysv_rc_dir"], name)
        return bool(salt["service.enabled"](name))

    def call(function, name):
        if function == "enable" and sysv:
            errors.run_checked(salt["cmd.run_all"], ["update-rc.d", name, "enable"],
                               f"update-rc.d {name} enable")  # fmt: skip
        elif not salt[f"service.{function}"](name):
            raise CommandExecutionError(f"service.{function} {name} failed")

    return enabled, call


def converge(lookup, role, msp_runner, restart, test, timeout, enabled, call):
    """
    Bring the daemons to ``role`` (see ``sendmail.services``): plan from what runs and what is
    enabled, make the calls, end MTAs the vendor's stop left running when the role wants none,
    then poll the process list until it agrees or ``timeout`` seconds pass. ``enabled(name)``
    and ``call(function, name)`` reach the service manager (the caller's Salt functions).
    """
    msp_runner = msp_runner_for(lookup, role, msp_runner)
    # The MSP queue's directories, read once: the process list is polled below.
    msp_dirs = queues.directories(cf.load_both(lookup), lookup)["msp"]
    running = processes.running(processes.daemons(msp_dirs=msp_dirs))
    enabled_now = {name: enabled(name) for name in names(lookup)}
    planned = actions(lookup, role, running, enabled_now, msp_runner, bool(restart))
    wanted = {"mta": role == "server", "msp_runner": msp_runner == "daemon"}
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
    while (now_running := processes.running(processes.daemons(msp_dirs=msp_dirs))) != wanted:
        if time.monotonic() >= deadline:
            raise CommandExecutionError(
                f"after {', '.join(result['actions'])} the daemons are {now_running}, not {wanted}"
            )
        time.sleep(0.2)
    return result
