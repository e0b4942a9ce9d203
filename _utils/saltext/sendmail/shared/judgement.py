"""
The fleet's one judgement of a host, which ``sendmail.compliance`` returns and both the report
(``salt-run sendmail.report``) and the drift beacon use: no other place has a rule of its own.

- ``not_sendmail``: the MTA here is not sendmail (postfix, exim, other, or none at all), whatever
  pillar says: the formula leaves it alone;
- ``unmanaged``: no ``sendmail:role`` in pillar or minion config: the formula does not manage it;
- ``misconfigured``: managed, but its pillar cannot be applied as it is: the schema refuses it or
  it names no usable site (``problem``), or it makes a relay whose sendmail.mc was written by hand
  (the finding ``hand-made-mc``) without ``replace_hand_made``. A role run would fail: a person
  fixes the pillar; never sent to the reactor;
- ``drifted``: managed, and the role it plays is not the role pillar gives it, or a high finding
  counts that a role run fixes (a relay's own exposed listener does not count): applying the role
  would change this host and set it right, and the drift reactor does exactly that;
- ``at_risk``: managed and playing its role as pillar says, but its mail is at risk for a reason
  the role cannot fix (:data:`AT_RISK`: root's mail unrouted by the site's pillar, mail waiting on
  relays that cannot be reached, a queue's disk nearly full, an MTA refusing for load, a milter
  that does not answer; and, from the report's DNS lookups, a relay's DKIM record missing or not
  its key, its address not allowed by SPF, no DMARC record): a person
  must act; never sent to the reactor;
- ``needs_patch``: managed and playing its role, but its sendmail lacks a security fix where that
  counts (:data:`PATCH_FINDINGS`, high on a host that listens on the network): the rolling patch
  (``salt-run sendmail.patch_relays``) or the usual upgrade acts, not a role run, so never the
  reactor;
- ``compliant``: managed, playing its role, no finding that counts.
"""

from salt.exceptions import CommandExecutionError, SaltInvocationError

from .. import __version__
from . import dkim, dns_records, pillar, schema

VERDICTS = (
    "compliant",
    "at_risk",
    "needs_patch",
    "drifted",
    "misconfigured",
    "unmanaged",
    "not_sendmail",
)
# The verdicts someone must act on: the drift reactor (drifted only), a person (the others).
NEEDS_ACTION = ("drifted", "misconfigured", "at_risk", "needs_patch")
# The one verdict a role run sets right, and so the only one the drift reactor acts on.
REACTOR = "drifted"
# The findings that say the host's sendmail lacks a fix: the report lists these hosts as unpatched.
PATCH_FINDINGS = frozenset({"security-update-pending", "advisory-open"})
# What a role does on purpose: a relay listens on the network.
EXCUSED = {"server": frozenset({"exposed-listener"})}
# Mail at risk on a host that plays its role as pillar says: applying the role would not change
# it (the site's pillar, the relays, the disk, the load must), so it is no drift. Any severity.
AT_RISK = frozenset(
    {"local-mail-unrouted", "relay-unreachable", "queue-disk-low", "mta-refusing", "milter-down"}
) | frozenset(dns_records.FINDINGS)


def counted(findings, expected):
    """
    The findings that count on a managed host: high ones its role does not excuse, and every
    :data:`AT_RISK` one.
    """
    excused = EXCUSED.get(expected, frozenset())
    return [
        f for f in findings if f["id"] in AT_RISK or (f["severity"] == "high" and f["id"] not in excused)
    ]


def extension_version():
    """The version of this extension (saltext-sendmail) as built; ``0+unknown`` from a checkout."""
    return __version__


def judge(status, managed, expected=None, problem=None, site=None, replace_hand_made=False):
    """
    The verdict on a host from its ``sendmail.status`` report and its pillar: ``managed`` (it
    names a role), ``expected`` (the role from ``sendmail.settings``, None when that failed),
    ``problem`` (why it failed), ``site`` and ``replace_hand_made`` (the pillar's). Returns
    ``verdict``, ``expected``, ``observed``, ``findings`` (those that count), ``other_findings``,
    ``problem``, ``provider``, ``version``, ``package``, ``advisories``, ``unpatched`` (a patch
    finding, counted or not), ``site``, ``queues`` (messages per queue: the fleet's figures
    come from the same job) and ``extension`` (this package's version).
    """
    findings = status.get("findings") or []
    verdict = {
        "verdict": None,
        "expected": expected,
        "site": site,
        "queues": {name: queue.get("count") for name, queue in (status.get("queues") or {}).items()},
        "observed": status.get("role"),
        "findings": [],
        "other_findings": findings,
        "problem": None,
        "provider": status.get("provider"),
        "version": status.get("version"),
        "package": status.get("package"),
        "advisories": status.get("advisories"),
        "unpatched": any(f["id"] in PATCH_FINDINGS for f in findings),
        # A relay's DKIM keys and its own addresses: the report checks the site's DNS with them.
        "dkim": status.get("dkim"),
        "addresses": status.get("addresses") or [],
        # This extension's version on the minion: a mixed fleet shows which minions are older.
        "extension": extension_version(),
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
        verdict.update(verdict="misconfigured", problem=f"pillar: {problem}")
        return verdict
    hand_made = status.get("hand_made_mc") or {}
    if expected == "server" and hand_made.get("dropped") and not replace_hand_made:
        verdict["verdict"] = "misconfigured"
        verdict["problem"] = (
            f"{hand_made['path']} was written by hand and the server role refuses to replace it "
            "(finding hand-made-mc): set sendmail:replace_hand_made, or give the pillar what the "
            "relay needs"
        )
        return verdict
    kinds = [f["id"] for f in verdict["findings"]]
    drift = [kind for kind in kinds if kind not in AT_RISK and kind not in PATCH_FINDINGS]
    if expected != verdict["observed"] or drift:
        verdict["verdict"] = "drifted"
    elif any(kind in AT_RISK for kind in kinds):
        verdict["verdict"] = "at_risk"
    else:
        verdict["verdict"] = "needs_patch" if kinds else "compliant"
    return verdict


def for_minion(status, read_config, grains):
    """
    ``sendmail.compliance``: :func:`for_config` with the minion's configuration from
    ``read_config()``; a configuration that cannot be read is misconfigured, its error the problem.
    """
    try:
        config = read_config()
    except SaltInvocationError as err:
        return judge(status, True, problem=str(err))
    return for_config(status, config, grains)


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
        resolved = pillar.resolve(config, grains)
    except (CommandExecutionError, SaltInvocationError) as err:
        return judge(status, True, problem=str(err), site=config.get("site"))
    # A relay whose pillar asks DKIM signing and that does not sign: drift a role run sets right.
    status = {**status, "findings": [*(status.get("findings") or []), *dkim.drift(status, resolved)]}
    verdict = judge(
        status,
        True,
        resolved["role"],
        site=resolved["site"],
        replace_hand_made=bool(resolved.get("replace_hand_made")),
    )
    # The addresses the site's mail leaves from, for the report's SPF check: the pillar's (NAT).
    public = ((config.get("sites") or {}).get(resolved["site"]) or {}).get("public_addresses")
    if public:
        verdict["addresses"] = public
    return verdict
