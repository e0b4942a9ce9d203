"""
The fleet view from the master: ``salt-run sendmail.report`` compares, for every targeted minion,
the role its pillar gives it with the role it plays, in one job (``sendmail.status`` and
``sendmail.settings`` run together on each minion).

.. code-block:: bash

    salt-run sendmail.report
    salt-run sendmail.report tgt='client-*'
    salt-run sendmail.report tgt='sendmail:role:server' tgt_type=grain --out=json
"""

import salt.client
import salt.utils.minions

__virtualname__ = "sendmail"
FUNCTIONS = ["sendmail.status", "sendmail.settings"]
# A relay listens on the network on purpose: that finding is its role, not drift.
EXPECTED_ON_A_SERVER = {"exposed-listener"}


def __virtual__():
    return __virtualname__


def _entry(problem=None):
    """A minion's entry before anything is known of it."""
    return {"expected": None, "observed": None, "compliant": False, "findings": [], "problem": problem}


def _classify(status, settings):
    """
    One minion's entry from what its ``sendmail.status`` and ``sendmail.settings`` returned (a
    string where the function failed): ``expected``, ``observed``, ``compliant``, ``findings``,
    ``problem`` and the summary list it belongs in.
    """
    entry = _entry()
    if not isinstance(status, dict):
        entry["problem"] = f"sendmail.status failed: {str(status).strip()[:300]}"
        return entry, "drifted"
    entry["observed"] = status.get("role")
    entry["version"] = status.get("version")
    entry["findings"] = status.get("findings") or []
    if status.get("provider") != "sendmail":
        entry["problem"] = f"the MTA here is {status.get('provider')}, not sendmail"
        return entry, "not_sendmail"
    if isinstance(settings, dict):
        entry["expected"] = settings.get("role")
    else:
        entry["problem"] = f"pillar: {str(settings).strip()[:300]}"
    excused = EXPECTED_ON_A_SERVER if entry["expected"] == "server" else set()
    high = [f for f in entry["findings"] if f.get("severity") == "high" and f.get("id") not in excused]
    entry["compliant"] = (
        entry["expected"] is not None and entry["expected"] == entry["observed"] and not high
    )
    return entry, "compliant" if entry["compliant"] else "drifted"


def _summarize(targeted, returns):
    """The report for the ``targeted`` minion ids from the job's ``returns`` ({id: {fun: ret}})."""
    report = {
        "minions": {},
        "summary": {"compliant": [], "drifted": [], "unreachable": [], "not_sendmail": []},
    }
    for minion in sorted(set(targeted) | set(returns)):
        if minion not in returns:
            report["minions"][minion] = _entry("did not answer")
            report["summary"]["unreachable"].append(minion)
            continue
        answer = returns[minion]
        if not isinstance(answer, dict):  # the module is missing, or the job failed as a whole
            answer = {fun: answer for fun in FUNCTIONS}
        entry, kind = _classify(answer.get(FUNCTIONS[0]), answer.get(FUNCTIONS[1]))
        report["minions"][minion] = entry
        report["summary"][kind].append(minion)
    # salt-run exits with this (non-zero when a minion drifted or did not answer).
    report["retcode"] = 1 if report["summary"]["drifted"] or report["summary"]["unreachable"] else 0
    return report


def report(tgt="*", tgt_type="glob", timeout=None):
    """
    Which minions play the sendmail role pillar gives them: per minion ``expected`` (pillar),
    ``observed`` (``sendmail.status``), ``compliant``, ``findings`` and any ``problem``; a
    ``summary`` (``compliant``, ``drifted``, ``unreachable``, ``not_sendmail``: minion ids) and a
    ``retcode``, non-zero when a minion drifted or did not answer. Shown as a table by the
    ``sendmail_report`` outputter (``--out=json`` or ``--out=yaml`` give the data).

    tgt, tgt_type
        The minions, as for ``salt`` (default every minion).

    timeout
        Seconds to wait for the minions (default: the master's ``timeout``).

    CLI Example:

    .. code-block:: bash

        salt-run sendmail.report
        salt-run sendmail.report tgt='sendmail:role:client' tgt_type=grain --out=json
    """
    targeted = salt.utils.minions.CkMinions(__opts__).check_minions(tgt, tgt_type)["minions"]
    # The runner's own opts: reading the master config again would cost 0.3 s (profiled).
    with salt.client.get_local_client(mopts=__opts__) as client:
        returns = client.cmd(tgt, FUNCTIONS, [[], []], tgt_type=tgt_type,
                             timeout=timeout or __opts__.get("timeout", 5))  # fmt: skip
    return {"outputter": "sendmail_report", "data": _summarize(targeted, returns)}
