"""
DKIM signing on a site's relays (docs, "Mail that leaves the site arrives: DKIM, SPF, DMARC"):
OpenDKIM set up from the site's pillar ``dkim`` with a key made on the relay itself, and the keys
it signs with, as ``sendmail.status`` and the fleet report show them. Each function hands Salt's
dunders to :mod:`saltext.sendmail.shared.dkim`; paths and the service come from
``sendmail.lookup`` (``dkim_*``).
"""

import socket

from salt.exceptions import CommandExecutionError

try:  # now, while Salt loads this file: only then is _utils on the path (shared's docstring)
    from saltext.sendmail import shared
except ImportError as err:  # _utils not synced (saltutil.sync_modules alone), or not installed
    shared, MISSING = None, str(err)
else:
    shared = shared.fresh()

__virtualname__ = "sendmail_dkim"


def __virtual__():
    if shared is None:
        return False, f"saltext.sendmail.shared is missing ({MISSING}): run saltutil.sync_all"
    return __virtualname__


def setup(dkim, relay_domains=None, masquerade_as=None, test=False):
    """
    Set up DKIM signing on this relay: make its key for each domain (``opendkim-genkey``, the
    selector ``SELECTOR-HOST``, never replacing a key), write OpenDKIM's KeyTable, SigningTable and
    InternalHosts (the relay and the site's networks) and the signing keywords of its
    ``opendkim.conf`` (the rest of the file kept), then restart OpenDKIM when anything changed (and
    start it when it does not run). The private key is never read: no return carries it. Returns
    ``changed``, ``selector``, ``keys_made``, ``files`` (diffs), ``milter`` (the relay's cf entry)
    and ``service`` (what was done to OpenDKIM's service, None when nothing).

    dkim
        The site's ``dkim`` pillar: ``selector``, ``next_selector``, ``domains``, ``bits``.
    relay_domains
        The site's ``relay_domains``: its networks' mail is signed.
    masquerade_as
        The site's domain, which ``domains`` defaults to.
    test
        Return the plan; make and write nothing.

    CLI Example:

    .. code-block:: bash

        salt relay1 sendmail_dkim.setup '{selector: s2026}' masquerade_as=example.com test=True
    """
    from saltext.sendmail.shared import dkim as signing

    lookup = __salt__["sendmail.lookup"]()
    host = __grains__.get("host") or socket.gethostname()
    run = __salt__["cmd.run_all"]
    result = signing.apply(lookup, run, dkim, relay_domains, masquerade_as, host, test)
    result["service"] = None
    service = lookup.get("dkim_service")
    if service and not test:
        if result["changed"]:
            __salt__["service.enable"](service)
            result["service"] = "restarted" if __salt__["service.restart"](service) else "restart failed"
        elif not __salt__["service.status"](service):
            result["service"] = "started" if __salt__["service.start"](service) else "start failed"
        if result["service"] and result["service"].endswith("failed"):
            raise CommandExecutionError(f"{service}: the {result['service']}")
    return result


def keys():
    """
    The keys OpenDKIM signs with on this host (from the KeyTable the role wrote): per key its
    ``domain``, ``selector``, record ``name``, ``value`` and ``strings`` (the TXT record in 255-byte
    strings), the ``next`` keys of a rotation, and OpenDKIM's ``socket``; None where the role set
    up no signing.

    CLI Example:

    .. code-block:: bash

        salt -G 'sendmail:role:server' sendmail_dkim.keys
    """
    from saltext.sendmail.shared import dkim as signing

    return signing.installed(__salt__["sendmail.lookup"]())


def packages():
    """
    What OpenDKIM needs installed here (``lookup:dkim_pkgs``; ``[]`` to install it yourself): on a
    relay whose site has ``dkim``, where sendmail is (or will be) the MTA; empty elsewhere. The
    formula's ``sendmail.package`` installs them.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail_dkim.packages
    """
    from saltext.sendmail.shared import pillar

    try:
        resolved = __salt__["sendmail.settings"]()
    except Exception:  # an unmanaged or misconfigured minion: the role run says why
        return []
    # As sendmail.packages: nothing where another MTA runs (the formula leaves that host alone).
    if not pillar.signs(resolved) or __salt__["sendmail.version"]()["provider"] not in (
        "sendmail",
        "none",
    ):
        return []
    return list(__salt__["sendmail.lookup"]()["dkim_pkgs"])
