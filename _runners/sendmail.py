"""
The fleet from the master. ``salt-run sendmail.report`` asks every targeted minion for its
``sendmail.compliance`` (the one judgement, which the drift beacon uses too) in one job, and sorts
the minions by verdict: the runner has no rule of its own. ``salt-run sendmail.patch_relays``
upgrades the sendmail packages of a site's relays one relay at a time, checking each from here.
Each is a call into its concept in the shared package (``fleet_report``, ``rolling_patch``).

.. code-block:: bash

    salt-run sendmail.report
    salt-run sendmail.report tgt='client-*'
    salt-run sendmail.report tgt='sendmail:role:server' tgt_type=grain --out=json
    salt-run sendmail.patch_relays site=site-a test=True
"""

import logging

try:  # now, while Salt loads this file: only then is _utils on the path (shared's docstring)
    from saltext.sendmail import shared
except ImportError:  # _utils not synced to the master (salt-run saltutil.sync_all), or not installed
    shared = None
else:
    shared = shared.fresh()

log = logging.getLogger(__name__)

__virtualname__ = "sendmail"


def __virtual__():
    if shared is None:
        return False, "saltext.sendmail.shared is missing: run salt-run saltutil.sync_all"
    return __virtualname__


def report(tgt="*", tgt_type="glob", timeout=None, textfile_dir=None, dns_servers=None, dns=True):
    """
    The fleet's judgement, one job: per minion ``expected`` (pillar's role), ``observed``,
    ``compliant``, ``findings`` (those that count), ``other_findings``, ``problem`` and
    ``version``, ``package`` and ``advisories`` (the patch level); a ``summary`` (minion ids by
    verdict: ``compliant``, ``at_risk``, ``needs_patch``, ``drifted``, ``misconfigured``,
    ``unmanaged``, ``not_sendmail``, ``unreachable``, and ``unpatched``: an update pending or an
    advisory open) and a ``retcode``, non-zero only when a minion needs action (drifted,
    misconfigured, mail at risk, a security fix missing) or did not answer. Shown
    as a table by the ``sendmail_report`` outputter (``--out=json`` or ``--out=yaml`` give the
    data).

    tgt, tgt_type
        The minions, as for ``salt`` (default every minion).

    timeout
        Seconds to wait for the minions (default: the master's ``timeout``).

    textfile_dir
        Also write the fleet's figures for the master's node_exporter to ``sendmail_fleet.prom``
        in this directory, atomically: minions per verdict (``unreachable`` included), queued
        messages per site and queue, and the time of the report (docs, "Prometheus metrics
        and alerts"). Run it from the master's cron or schedule.

    dns_servers, dns
        Where the records of the sites whose relays sign DKIM are looked up (a list of IP
        addresses; default the master's resolv.conf, or the master config's
        ``sendmail_dns_servers``), or ``dns=False`` not to look them up. Each site's ``records``
        (what to publish, each ``published`` or not) and the DNS findings (``dkim-record-missing``,
        ``dkim-record-mismatch``, ``spf-relay-not-allowed``, ``dmarc-missing``: the relay at risk)
        come from these lookups; a name the DNS did not answer is listed, never taken as missing.

    CLI Example:

    .. code-block:: bash

        salt-run sendmail.report
        salt-run sendmail.report tgt='sendmail:role:client' tgt_type=grain --out=json
        salt-run sendmail.report textfile_dir=/var/lib/prometheus/node-exporter
        salt-run sendmail.report tgt='sendmail:role:server' tgt_type=grain dns_servers='[192.0.2.53]'
    """
    import time

    from saltext.sendmail.shared import fleet_report, metrics

    if textfile_dir is not None:  # a bad directory is refused before the job, not after it
        metrics.check_dir(textfile_dir)
    servers = dns_servers or __opts__.get("sendmail_dns_servers")
    data = fleet_report.run(__opts__, tgt, tgt_type, timeout, servers, dns)
    if textfile_dir is not None:
        text = metrics.render(metrics.fleet(data, time.time()))
        data["textfile"] = metrics.write(textfile_dir, metrics.FLEET_FILE, text)
    return {"outputter": "sendmail_report", "data": data}


def _progress(text):
    """A line salt-run prints as the run goes (Salt's runner progress event), and the log's."""
    log.info("sendmail.patch_relays: %s", text)
    event = globals().get("__jid_event__")
    if event is not None:
        event.fire_event({"message": text}, "progress")


def patch_relays(site=None, test=False, force=False, tgt="*", tgt_type="glob", timeout=600):
    """
    Upgrade the packages that provide sendmail on the relays (the minions whose pillar role is
    ``server``) of one site, or of every site one site after another: one relay at a time, each
    only once every other relay the site's pillar lists answers SMTP (its minion answered or
    not); upgrade with the package's own restart held back (``sendmail.upgrade``), re-apply the
    server role (the formula's ``sendmail`` state) and restart the MTA if the role did not, so
    the relay is out of service once; check the relay (it answers SMTP, accepts a message for
    the site's domain, ``sendmail.compliance`` is compliant, its package is the candidate)
    before the next. A targeted minion that does not answer the plan refuses the run (it may be
    a relay); the first failure stops it, leaving the remaining relays untouched. The probes stay
    within each relay's per-address limit (half its ``client_rate``), so a master outside the
    site's ``relay_domains`` is not refused. Returns ``relays`` in order, each with ``site``,
    ``minion``, ``address``, ``installed``, ``candidate``, ``result`` (None: not done),
    ``comment`` and ``out_of_service`` (seconds it did not answer SMTP); ``silent`` (the minions
    that did not answer the plan), ``result``, ``comment`` and ``retcode`` (1 when refused or a
    relay failed).

    site
        The site whose relays to patch (default: every site).
    test
        Return the plan (each relay, installed and candidate versions, the order); change nothing.
    force
        Go on although targeted minions did not answer the plan, and patch a relay although
        another relay of its site does not answer SMTP (or it is the site's only relay).
    tgt, tgt_type
        The minions to look among (default every minion).
    timeout
        Seconds to wait for a relay's upgrade or state run.

    CLI Example:

    .. code-block:: bash

        salt-run sendmail.patch_relays site=site-a test=True
        salt-run sendmail.patch_relays site=site-a
    """
    from saltext.sendmail.shared import rolling_patch

    return rolling_patch.run(__opts__, _progress, site, test, force, tgt, tgt_type, timeout)
