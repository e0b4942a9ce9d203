"""
The fleet view from the master: ``salt-run sendmail.report`` asks every targeted minion for its
``sendmail.compliance`` (the one judgement, which the drift beacon uses too) in one job, and sorts
the minions by verdict. The runner has no rule of its own.

.. code-block:: bash

    salt-run sendmail.report
    salt-run sendmail.report tgt='client-*'
    salt-run sendmail.report tgt='sendmail:role:server' tgt_type=grain --out=json
"""

import salt.client
import salt.utils.minions

__virtualname__ = "sendmail"
FUNCTION = "sendmail.compliance"
SUMMARY = ("compliant", "drifted", "unmanaged", "unreachable", "not_sendmail")
# What Salt's LocalClient.cmd returns for a targeted minion that did not answer: text such as
# "Minion did not return. [Not connected]" or "... [No response]", or False (Salt 3006, for a
# minion the job expected and never heard from).
NO_RETURN = "Minion did not return"
FIELDS = ("expected", "observed", "findings", "other_findings", "problem", "version", "package",
          "advisories")  # fmt: skip


def __virtual__():
    return __virtualname__


def _entry(answer):
    """A minion's entry and the summary list it goes in, from what its job returned."""
    if isinstance(answer, dict) and answer.get("verdict") in SUMMARY:
        entry = {key: answer.get(key) for key in FIELDS}
        entry["compliant"] = answer["verdict"] == "compliant"
        return entry, answer["verdict"]
    entry = {**dict.fromkeys(FIELDS), "findings": [], "other_findings": [], "compliant": False}
    text = str(answer).strip()
    if answer is None or answer is False or text.startswith(NO_RETURN):
        entry["problem"] = text if isinstance(answer, str) else "did not answer"
        return entry, "unreachable"
    # The module is missing there, or the function failed: the minion answered, wrongly.
    entry["problem"] = f"{FUNCTION} failed: {text[:300]}"
    return entry, "drifted"


def _summarize(targeted, returns):
    """The report for the ``targeted`` minion ids from the job's ``returns`` ({id: answer})."""
    report = {"minions": {}, "summary": {**{kind: [] for kind in SUMMARY}, "unpatched": []}}
    for minion in sorted(set(targeted) | set(returns)):
        answer = returns.get(minion)
        entry, kind = _entry(answer)
        report["minions"][minion] = entry
        report["summary"][kind].append(minion)
        if isinstance(answer, dict) and answer.get("unpatched"):
            report["summary"]["unpatched"].append(minion)
    # salt-run exits with this: non-zero only when a managed minion drifted or one did not answer.
    report["retcode"] = 1 if report["summary"]["drifted"] or report["summary"]["unreachable"] else 0
    return report


def report(tgt="*", tgt_type="glob", timeout=None):
    """
    The fleet's judgement, one job: per minion ``expected`` (pillar's role), ``observed``,
    ``compliant``, ``findings`` (those that count), ``other_findings``, ``problem`` and
    ``version``, ``package`` and ``advisories`` (the patch level); a ``summary`` (minion ids by
    verdict: ``compliant``, ``drifted``, ``unmanaged``, ``unreachable``, ``not_sendmail``, and
    ``unpatched``: an update pending or an advisory open) and a ``retcode``, non-zero only when
    a minion drifted or did not answer. Shown as a table by the ``sendmail_report`` outputter
    (``--out=json`` or ``--out=yaml`` give the data).

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
        returns = client.cmd(tgt, FUNCTION, tgt_type=tgt_type,
                             timeout=timeout or __opts__.get("timeout", 5))  # fmt: skip
    return {"outputter": "sendmail_report", "data": _summarize(targeted, returns)}
