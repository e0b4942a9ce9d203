"""
The fleet's one judgement of a host, which ``sendmail.compliance`` returns and both the report
(``salt-run sendmail.report``) and the drift beacon use: no other place has a rule of its own.

- ``not_sendmail``: the MTA here is not sendmail (postfix, exim, other, or none at all), whatever
  pillar says: the formula cannot act on it;
- ``unmanaged``: no ``sendmail:role`` in pillar or minion config: the formula does not manage it;
- ``drifted``: managed, and its pillar is wrong (``problem``), or the role it plays is not the
  role pillar gives it, or a high finding counts (a relay's own exposed listener does not);
- ``compliant``: managed, playing its role, no high finding that counts.
"""

from salt.exceptions import CommandExecutionError, SaltInvocationError

from . import pillar, schema

VERDICTS = ("compliant", "drifted", "unmanaged", "not_sendmail")
# The findings that say the host's sendmail lacks a fix: the report lists these hosts as unpatched.
PATCH_FINDINGS = frozenset({"security-update-pending", "advisory-open"})
# What a role does on purpose: a relay listens on the network.
EXCUSED = {"server": frozenset({"exposed-listener"})}


def counted(findings, expected):
    """The findings that make a managed host drifted: high ones its role does not excuse."""
    excused = EXCUSED.get(expected, frozenset())
    return [f for f in findings if f["severity"] == "high" and f["id"] not in excused]


def judge(status, managed, expected=None, problem=None):
    """
    The verdict on a host from its ``sendmail.status`` report and its pillar: ``managed`` (it
    names a role), ``expected`` (the role from ``sendmail.settings``, None when that failed) and
    ``problem`` (why it failed). Returns ``verdict``, ``expected``, ``observed``, ``findings``
    (those that count), ``other_findings``, ``problem``, ``provider``, ``version``, ``package``,
    ``advisories`` and ``unpatched`` (a patch finding, counted or not).
    """
    findings = status.get("findings") or []
    verdict = {
        "verdict": None,
        "expected": expected,
        "observed": status.get("role"),
        "findings": [],
        "other_findings": findings,
        "problem": None,
        "provider": status.get("provider"),
        "version": status.get("version"),
        "package": status.get("package"),
        "advisories": status.get("advisories"),
        "unpatched": any(f["id"] in PATCH_FINDINGS for f in findings),
    }
    if status.get("provider") != "sendmail":
        what = status.get("provider") or "none"
        verdict["problem"] = "no MTA is installed" if what == "none" else f"the MTA here is {what}"
        verdict["verdict"] = "not_sendmail"
        return verdict
    if not managed:
        verdict["verdict"] = "unmanaged"
        return verdict
    verdict["findings"] = counted(findings, expected)
    verdict["other_findings"] = [f for f in findings if f not in verdict["findings"]]
    if problem is not None:
        verdict["problem"] = f"pillar: {problem}"
        verdict["verdict"] = "drifted"
        return verdict
    agrees = expected == verdict["observed"] and not verdict["findings"]
    verdict["verdict"] = "compliant" if agrees else "drifted"
    return verdict


def for_config(status, config, grains):
    """
    :func:`judge` for a host whose ``sendmail`` configuration is ``config``. Managed when it
    names a role, or when it has unknown keys or wrong types: a mistyped ``role`` must not hide
    a host from the fleet view.
    """
    problems = schema.problems(config)
    if problems:
        return judge(status, True, problem="; ".join(problems))
    if not pillar.managed(config):
        return judge(status, False)
    try:
        expected = pillar.resolve(config, grains)["role"]
    except (CommandExecutionError, SaltInvocationError) as err:
        return judge(status, True, problem=str(err))
    return judge(status, True, expected)
