"""
The ``sendmail`` beacon: every ``interval`` seconds it looks at the host and fires an event (tag
``salt/beacon/<minion>/sendmail/``) only when something changed, naming what: a listener appeared
or went on 25/465/587, the MTA daemon started or stopped, a queue lost or regained its runner, a
finding appeared or cleared, an installed cf changed on disk. A reactor can then re-apply the role
(``salt/reactor/sendmail-drift.sls``).

.. code-block:: yaml

    beacons:
      sendmail:
        - interval: 60             # seconds; 60 when left out
        - disable_during_state_run: true   # the role state's own restarts are no drift
        - checks: [listeners, daemons, runners, findings, cf]   # default: all five
        - emit_at_startup: false   # true: one event with the whole picture when the minion starts

The event's data: ``changes`` (per check, ``old`` and ``new``), ``role`` (observed), ``expected``
(from pillar, or null), ``verdict`` and ``drifted`` (the verdict is ``drifted``), both from
``sendmail.compliance``, the one judgement the report uses too: only what a role run sets right
is drifted, so the reactor never runs the role on an unmanaged or non-sendmail host, nor on one
whose pillar cannot be applied, whose mail is at risk, or that lacks a security fix.
``startup`` is true on the first event. What the checks read is ``sendmail.status`` (queues
counted from file names: ~0.12 s at 100,000 messages), or only ``sendmail.listeners`` and two stat
calls when only ``listeners`` and ``cf`` are asked for.
"""

import os
import time

import salt.utils.beacons

__virtualname__ = "sendmail"
# The default: every check the beacon knows (sendmail.validate part=beacon has them all).
CHECKS = ("listeners", "daemons", "runners", "findings", "cf")
CONTEXT_KEY = "sendmail.beacon.last"
CHECKED_KEY = "sendmail.beacon.checked"
INTERVAL_KEY = "sendmail.beacon.interval"
# Seconds between checks when the configuration names no interval. Salt itself would then call
# the beacon every loop_interval (1 s): ~18% of a core on a relay with 100,000 queued messages
# (a check takes 0.18 s of CPU there, benchmarks/beacon_and_grain.py).
DEFAULT_INTERVAL = 60


def __virtual__():
    return __virtualname__


def _merged(config):
    # Salt passes a beacon's configuration as a list of one-key mappings (or one mapping).
    return salt.utils.beacons.list_to_dict(config if isinstance(config, list) else [config])


def validate(config):
    """Refuse unknown settings and checks, a bad interval, a non-boolean ``emit_at_startup``."""
    # One place knows every setting, and how Salt passes them: the execution module's schema.
    problems = __salt__["sendmail.validate"](config, part="beacon")
    if problems:
        return False, "; ".join(problems)
    merged = _merged(config)
    # Salt validates the whole configuration right before each call of beacon(), which then
    # gets it without its interval: see _due.
    __context__[INTERVAL_KEY] = merged.get("interval")
    return True, "valid sendmail beacon configuration"


def _cf_identity(lookup):
    identity = {}
    for key in ("sendmail_cf", "submit_cf"):
        try:
            st = os.stat(lookup[key])
            identity[lookup[key]] = f"inode {st.st_ino} size {st.st_size} mtime {st.st_mtime_ns}"
        except OSError:
            identity[lookup[key]] = None
    return identity


def _snapshot(checks, status=None, listeners=None, lookup=None):
    """What each check sees now, as plain comparable data."""
    seen = {}
    if "listeners" in checks:
        listeners = status["listeners"] if status else listeners
        seen["listeners"] = sorted(f"{entry['address']}:{entry['port']}" for entry in listeners)
    if "daemons" in checks:
        seen["daemons"] = sorted({d["kind"] for d in status["daemons"] if d["kind"] != "other"})
    if "runners" in checks:
        seen["runners"] = {name: bool(queue["runners"]) for name, queue in status["queues"].items()}
    if "findings" in checks:
        seen["findings"] = sorted({f"{f['id']} ({f['severity']})" for f in status["findings"]})
    if "cf" in checks:
        seen["cf"] = _cf_identity(lookup)
    return seen


def _due():
    """
    Whether to check now: at every call when Salt spaces the calls (the configuration it just
    validated named an ``interval``), else every DEFAULT_INTERVAL. Salt takes ``interval`` out
    of what it passes to :func:`beacon`, but calls :func:`validate` with the whole configuration
    right before each call: that is where the interval is seen (the minion's config and pillar
    do not hold a beacon added at run time with beacons.add).
    """
    if __context__.get(INTERVAL_KEY):
        return True
    now = time.monotonic()
    last = __context__.get(CHECKED_KEY)
    if last is not None and now - last < DEFAULT_INTERVAL:
        return False
    __context__[CHECKED_KEY] = now
    return True


def beacon(config):
    """The events of this interval: none unless something changed (or at start-up, if asked)."""
    merged = _merged(config)
    if not _due():
        return []
    checks = merged.get("checks", list(CHECKS))
    lookup = __salt__["sendmail.lookup"]()
    status = None
    if set(checks) - {"listeners", "cf"}:
        status = __salt__["sendmail.status"]()
    listeners = None if status else __salt__["sendmail.listeners"]()
    now = _snapshot(checks, status, listeners, lookup)
    before = __context__.get(CONTEXT_KEY)
    __context__[CONTEXT_KEY] = now
    if before is None:
        if not merged.get("emit_at_startup", False):
            return []
        changes = {check: {"old": None, "new": value} for check, value in now.items()}
    else:
        changes = {
            check: {"old": before.get(check), "new": value}
            for check, value in now.items()
            if before.get(check) != value
        }
        if not changes:
            return []
    return [{"changes": changes, "startup": before is None, **_judgement(status)}]


def _judgement(status):
    """The one judgement (``sendmail.compliance``) of what ``status`` saw, for the event."""
    verdict = __salt__["sendmail.compliance"](report=status or __salt__["sendmail.status"]())
    return {
        "role": verdict["observed"],
        "expected": verdict["expected"],
        "verdict": verdict["verdict"],
        "drifted": verdict["verdict"] == "drifted",
    }
