"""
The fleet's report on the master (``salt-run sendmail.report``): every targeted minion's
``sendmail.compliance`` (the one judgement) from one job, sorted by verdict. A minion that did not
answer is ``unreachable``; one whose function failed is ``drifted`` (it answered, wrongly). The
report has no rule of its own: its lists are the judgement's verdicts.
"""

import salt.client
import salt.utils.minions

from . import dns_records, judgement, syndics

FUNCTION = "sendmail.compliance"
# The report's lists: the judgement's verdicts, then the minions that did not answer.
SUMMARY = (*judgement.VERDICTS, "unreachable")
# salt-run exits non-zero when a minion is in one of these: a person or the reactor must act.
FAILING = (*judgement.NEEDS_ACTION, "unreachable")
# What Salt's LocalClient.cmd returns for a targeted minion that did not answer: text such as
# "Minion did not return. [Not connected]" or "... [No response]", or False (Salt 3006, for a
# minion the job expected and never heard from).
NO_RETURN = "Minion did not return"
FIELDS = (
    "expected",
    "observed",
    "findings",
    "other_findings",
    "problem",
    "version",
    "package",
    "advisories",
    "site",
    "queues",
    "dkim",
    "addresses",
    "extension",
)


def run(opts, tgt, tgt_type, timeout, dns_servers=None, dns=True):
    """
    The report for the minions ``tgt`` targets, from one job (``opts``: the runner's), with the
    DNS records of the sites whose relays sign (:func:`with_dns`) unless ``dns`` is false. On a
    master of masters, the minions behind its syndics (:func:`syndics.ask`), and ``syndics``.
    """
    timeout = timeout or opts.get("timeout", 5)
    # The runner's own opts: reading the master config again would cost 0.3 s (profiled).
    with salt.client.get_local_client(mopts=opts) as client:
        if syndics.is_master_of_masters(opts):
            returns, through = syndics.ask(opts, client, tgt, tgt_type, FUNCTION, timeout=timeout)
            report = {**summarize(returns, returns), "syndics": through}
        else:
            targeted = salt.utils.minions.CkMinions(opts).check_minions(tgt, tgt_type)["minions"]
            report = summarize(targeted, client.cmd(tgt, FUNCTION, tgt_type=tgt_type, timeout=timeout))
    return with_dns(report, dns_servers, opts.get("sendmail_dns_timeout", 5.0)) if dns else report


def entry(answer):
    """A minion's entry and the summary list it goes in, from what its job returned."""
    if isinstance(answer, dict) and answer.get("verdict") in judgement.VERDICTS:
        found = {key: answer.get(key) for key in FIELDS}
        found["compliant"] = answer["verdict"] == "compliant"
        return found, answer["verdict"]
    found = {**dict.fromkeys(FIELDS), "findings": [], "other_findings": [], "compliant": False}
    text = str(answer).strip()
    if answer is None or answer is False or text.startswith(NO_RETURN):
        found["problem"] = text if isinstance(answer, str) else "did not answer"
        return found, "unreachable"
    # The module is missing there, or the function failed: the minion answered, wrongly.
    found["problem"] = f"{FUNCTION} failed: {text[:300]}"
    return found, "drifted"


def summarize(targeted, returns):
    """The report for the ``targeted`` minion ids from the job's ``returns`` ({id: answer})."""
    report = {"minions": {}, "summary": {**{kind: [] for kind in SUMMARY}, "unpatched": []}}
    for minion in sorted(set(targeted) | set(returns)):
        answer = returns.get(minion)
        found, kind = entry(answer)
        report["minions"][minion] = found
        report["summary"][kind].append(minion)
        if isinstance(answer, dict) and answer.get("unpatched"):
            report["summary"]["unpatched"].append(minion)
    report["retcode"] = 1 if any(report["summary"][kind] for kind in FAILING) else 0
    return report


def with_dns(report, servers=None, timeout=5.0):
    """
    ``report`` with ``records``: per site whose relays sign, the records it must publish
    (:func:`dns_records.site_records`), each looked up (``published``: True, False, or None when
    the DNS did not answer), and the names left ``unanswered``. A relay whose record is missing or
    wrong, whose address SPF does not allow, or whose domain has no DMARC record gets the finding
    and, from compliant or needs_patch, the verdict at_risk (a person publishes DNS).
    """
    sites = {}
    for minion, found in report["minions"].items():
        if found.get("expected") == "server" and (found.get("dkim") or {}).get("keys"):
            sites.setdefault(found.get("site") or "", {})[minion] = found
    report["records"] = {}
    ask = dns_records.resolver(servers, timeout) if sites else None
    for site, relays in sorted(sites.items()):
        records = dns_records.site_records(relays)
        if ask is None:
            unanswered = ["not looked up: the master has no dnspython (salt-pip install dnspython)"]
        else:
            found, unanswered = dns_records.check(ask, records, relays)
            for minion, findings in found.items():
                if findings:
                    _at_risk(report, minion, findings)
        report["records"][site] = {"records": records, "unanswered": unanswered}
    report["retcode"] = 1 if any(report["summary"][kind] for kind in FAILING) else 0
    return report


def _at_risk(report, minion, findings):
    entry = report["minions"][minion]
    entry["findings"] = (entry.get("findings") or []) + findings
    for kind in ("compliant", "needs_patch"):
        if minion in report["summary"][kind]:
            report["summary"][kind].remove(minion)
            report["summary"]["at_risk"] = sorted([*report["summary"]["at_risk"], minion])
    entry["compliant"] = False
