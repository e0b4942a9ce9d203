"""
Make a host play the sendmail role it is given: ``client`` (relays to the site's mail relay and
listens on nothing) or ``server`` (a hardened, listening MTA).

The state decides and reports; the role run's engine (``saltext.sendmail.shared.role_run``) runs
every step as an execution-module function called through ``__salt__`` (``sendmail.check_role``,
``build_cf``, ``flush``, ``cron_runner``, ``switch``, ``services``) that returns plain data, which
becomes the state's changes and comment. Each step first runs with ``test=True``: every value is
checked and the whole change is known before anything is written, and test mode stops there. A
host whose MTA is not sendmail (postfix, exim) is left as it is. Each state below has its SLS
example; ``sendmail.metrics`` keeps the Prometheus textfile and its beacon as pillar asks.
"""

import salt.utils.beacons
from salt.exceptions import CommandExecutionError, SaltInvocationError

try:  # now, while Salt loads this file: only then is _utils on the path (shared's docstring)
    from saltext.sendmail import shared
except ImportError:  # _utils not synced (saltutil.sync_states alone), or not installed
    shared = None
else:
    shared = shared.fresh()

__virtualname__ = "sendmail"


def __virtual__():
    if shared is None or "sendmail.build_cf" not in __salt__:
        return False, "the sendmail execution module is not loaded: run saltutil.sync_all"
    return __virtualname__


def client(
    name,
    relay,
    port=None,
    msp_runner="daemon",
    msp_interval="15m",
    queue_interval="1h",
    flush_timeout=300,
    tls=None,
    auth=None,
    masquerade_as=None,
    limits=None,
):
    """
    Make this host a mail client: the MSP (submit.cf, sendmail 8.12 and later) and sendmail.cf send
    every message to ``relay``, the MTA daemon is switched off with the vendor's own switch, and
    both queues keep a runner. Before the MTA stops, its queue is flushed to the relay; what cannot
    be delivered yet stays, run by a root cron entry until the queue is empty. No queued message
    is ever deleted. Refuses, changing nothing, a relay that is this host.

    name
        Any name (the state ID).

    relay
        The site's relay, or an ordered list that sendmail fails over along: ``mail.example.com``
        (MX lookup), ``[mail.example.com]``, ``[192.0.2.1]``, ``[IPv6:2001:db8::25]``, optionally
        prefixed by ``esmtp:``, ``relay:`` or ``smtp:``. Quote brackets in YAML.

    port
        The relay's port when not 25 (e.g. 587).

    msp_runner
        ``daemon`` (the vendor's MSP queue runner, default) or ``cron`` (a root cron entry).

    msp_interval, queue_interval
        How often the MSP queue and (while it holds mail) the MTA queue are run.

    flush_timeout
        Seconds the flush of the MTA queue may take before the MTA is stopped.

    tls
        STARTTLS to the relay: ``ca`` (a path or PEM text: the relay's certificate is verified
        against it) and ``require`` (true: mail goes to the relay only over STARTTLS, with ``ca``
        only to a certificate that verifies; otherwise it waits in the queue).

    auth
        SMTP AUTH to the relay: ``user``, ``password`` and optional ``mechanisms``. The password
        goes only into the authinfo map (root, group smmsp, 0640); changes and comments mask it.

    masquerade_as
        The domain this host's mail comes from: a bare ``root`` (cron's mail) leaves as
        ``root@DOMAIN``, never ``root@this-host``, where nothing listens.

    limits
        How long mail waits while every relay is down: ``queue_warn`` (before the sender is
        warned; sendmail's default 4h) and ``queue_return`` (before it bounces; default 5d).

    .. code-block:: yaml

        sendmail-client:
          sendmail.client:
            - relay:
              - '[mx1.example.com]'
              - '[mx2.example.com]'
            - masquerade_as: example.com
    """
    from saltext.sendmail.shared import role_run

    return role_run.apply(
        __salt__,
        __opts__,
        name,
        "client",
        relay=relay,
        port=port,
        relay_domains=None,
        limits=limits,
        msp_runner=msp_runner,
        msp_interval=msp_interval,
        queue_interval=queue_interval,
        flush_timeout=flush_timeout,
        tls=tls,
        auth=auth,
        masquerade_as=masquerade_as,
        aliases=None,
        replace_hand_made=False,
        features=None,
        dkim=None,
    )


def server(
    name,
    relay=None,
    port=None,
    relay_domains=None,
    limits=None,
    queue_interval="15m",
    msp_runner="daemon",
    msp_interval="15m",
    tls=None,
    auth=None,
    masquerade_as=None,
    aliases=None,
    replace_hand_made=False,
    features=None,
    dkim=None,
):
    """
    Make this host a mail relay: a listening MTA (``-bd``, queue run every ``queue_interval``) with a
    hardened sendmail.cf (PrivacyOptions goaway, no version in the greeting, LogLevel 9), the MSP
    handing mail to it, the service enabled and running.

    name
        Any name (the state ID).

    relay, port
        An optional smart host the relay sends through, as for :func:`client`.

    relay_domains
        Domains and IPv4 network prefixes (``198.51.100``) it accepts mail for and relays from: the
        site's domains and its clients' network.

    limits
        ``max_message_size`` (bytes, default 26214400: 25 MiB), ``connection_rate_throttle`` (new
        connections a second, default 10), ``max_daemon_children`` (concurrent SMTP children,
        default 40), ``min_free_blocks`` (below it new mail gets 452, default 25600),
        ``client_connections`` and ``client_rate`` (per outside address: at once, default 10, and
        a minute, default 30; the excess gets 421), ``greet_pause`` (ms, default 1000),
        ``idle_timeout`` (s, default 300), ``queue_warn`` and ``queue_return`` (as for
        :func:`client`); any of them, the others keep their defaults. The ``relay_domains``
        networks and loopback are exempt from the per-address limits.

    tls
        STARTTLS: ``cert`` and ``key`` (paths, or PEM text written to tls_dir, the key 0600 root),
        optional ``ca``, and ``require`` (true: hosts of the ``relay_domains`` networks get a
        temporary 451 at MAIL until they STARTTLS).

    auth
        SMTP AUTH for relaying, offered only after STARTTLS: ``mechanisms`` (PLAIN, LOGIN; both by
        default). The users are Cyrus SASL's (e.g. sasldb with saslpasswd2).

    masquerade_as, aliases
        The site's domain and its local names (``{root: ops@example.com}``): the relay's own mail
        leaves from the domain, ``NAME@DOMAIN`` and the relay's own ``NAME`` go to the alias, the
        domain's other users are relayed on. Other entries of the aliases file are kept.

    msp_runner, msp_interval
        As for :func:`client`: what runs the relay's own MSP queue, and how often.

    features
        What the site's relays carry beyond relaying (docs, "Relays as sites run them"): the maps
        ``mailertable``, ``virtusertable``, ``genericstable`` (with ``generics_domains``),
        ``domaintable``; ``access`` entries; ``milters``; ``dnsbl``; ``listen`` (IPv4 and IPv6
        addresses); ``timeouts``; ``privacy_flags``; ``local_host_names``; ``trusted_users``.

    dkim
        DKIM signing (docs, "Mail that leaves the site arrives: DKIM, SPF, DMARC"): ``selector``,
        optional ``next_selector``, ``domains`` (default ``masquerade_as``) and ``bits``. OpenDKIM
        gets this relay's key (made here, ``SELECTOR-HOST``), its tables and the signing keywords
        of its configuration, and the cf names it first among the milters (flag ``T``).
    replace_hand_made
        Replace a sendmail.mc this package did not write even though the new one drops what it
        had (``FEATURE``, ``define``, ``MAILER``, ``INPUT_MAIL_FILTER``, ``LOCAL_*`` lines the
        vendor's default does not have and no pillar key writes). Without it such a host is
        refused, changing nothing, with the list; ``sendmail.status`` shows the same list.

    .. code-block:: yaml

        sendmail-server:
          sendmail.server:
            - relay_domains:
              - example.com
              - 198.51.100
            - limits:
                max_message_size: 52428800
            - features:
                mailertable:
                  partner.example.org: esmtp:[203.0.113.25]
    """
    from saltext.sendmail.shared import role_run

    return role_run.apply(
        __salt__,
        __opts__,
        name,
        "server",
        relay=relay,
        port=port,
        relay_domains=relay_domains,
        limits=limits,
        msp_runner=msp_runner,
        msp_interval=msp_interval,
        queue_interval=queue_interval,
        flush_timeout=None,
        tls=tls,
        auth=auth,
        masquerade_as=masquerade_as,
        aliases=aliases,
        replace_hand_made=replace_hand_made,
        features=features,
        dkim=dkim,
    )


def role(name, role=None):
    """
    Apply the role that pillar gives this minion (``sendmail:role``; see pillar.example), with its
    site's relays: ``sendmail.client`` or ``sendmail.server`` with the arguments that
    ``sendmail.settings`` reads from pillar. A bad pillar (unknown role, unknown site, a site
    without relays, an invalid relay) fails this state with a comment naming the key, and changes
    nothing.

    name
        Any name (the state ID).

    role
        Apply this role instead of the one in pillar (``client.sls`` and ``server.sls`` do).

    .. code-block:: yaml

        sendmail-role:
          sendmail.role:
            - name: sendmail
    """
    from saltext.sendmail.shared import role_run

    # Whatever pillar says: a host whose MTA is not sendmail is not the formula's to change.
    skipped = role_run.left_alone(__salt__)
    if skipped:
        return {"name": name, "result": True, "changes": {}, "comment": skipped}
    try:
        settings = __salt__["sendmail.settings"](role, secrets=True)
    except (CommandExecutionError, SaltInvocationError) as err:
        return {"name": name, "result": False, "changes": {}, "comment": str(err)}
    chosen = settings.pop("role")
    site = settings.pop("site")
    settings.pop("site_relays", None)
    apply_role = client if chosen == "client" else server
    ret = apply_role(name, **settings)
    where = f" (site {site})" if site is not None else ""
    ret["comment"] = f"{chosen}{where}: {ret['comment']}"
    return ret


def metrics(name="sendmail_metrics"):
    """
    Keep this host's Prometheus metrics in node_exporter's textfile directory as
    ``sendmail:metrics`` in pillar asks (docs, "Prometheus metrics and alerts"): with it (a
    mapping, ``{}`` for the defaults), ``sendmail.prom`` is written now when missing or stale and
    the beacon ``name`` (module ``sendmail_metrics``) rewrites it every ``interval`` seconds from
    inside the minion, saved in its beacons.conf so that it survives a restart (a beacon running
    but not saved there, by a run killed before its save, is saved). Without it, the beacon and the
    file go. The directory must exist (Debian's prometheus-node-exporter makes
    ``/var/lib/prometheus/node-exporter``). Needs a running minion, as Salt's beacon states do.

    name
        The beacon's name (default ``sendmail_metrics``).

    .. code-block:: yaml

        sendmail-metrics:
          sendmail.metrics: []
    """
    from saltext.sendmail.shared import metrics as prometheus

    config = __salt__["config.get"]("sendmail:metrics", None)
    problems = __salt__["sendmail.validate"]({"metrics": config})
    if problems:
        return {"name": name, "result": False, "changes": {}, "comment": "; ".join(problems)}
    if isinstance(config, dict):
        return _metrics_present(name, prometheus.settings(config), prometheus)
    return _metrics_absent(name, prometheus)


def _metrics_present(name, settings, prometheus):
    test = __opts__["test"]
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    path = prometheus.host_file(settings["textfile_dir"])
    try:
        prometheus.check_dir(settings["textfile_dir"])
    except SaltInvocationError as err:
        hint = "install prometheus-node-exporter, or set sendmail:metrics:textfile_dir"
        return {**ret, "result": False, "comment": f"{err}: {hint}"}
    said = []
    if prometheus.stale(path, settings["interval"]):
        if not test:
            try:
                __salt__["sendmail.metrics"](
                    textfile_dir=settings["textfile_dir"], interval=settings["interval"]
                )
            except CommandExecutionError as err:  # a full disk: the last file stays whole
                return {**ret, "result": False, "comment": str(err)}
        ret["changes"]["textfile"] = path
        said.append(f"{path} {'would be' if test else 'was'} written")
    else:
        said.append(f"{path} is fresh")
    wanted = prometheus.beacon_config(settings)
    current = _beacon(name)
    if current == wanted == _saved_beacon(name):
        said.append(f"beacon {name} refreshes it every {settings['interval']} s")
    elif current == wanted:  # running, but a run killed before its save left it out of beacons.conf
        ret["changes"]["beacon"] = {"old": "not in beacons.conf", "new": "saved in beacons.conf"}
        said.append(f"beacon {name} {'would be' if test else 'was'} saved in beacons.conf")
        failed = None if test else _change_beacon(name)
        if failed:
            return {**ret, "result": False, "comment": failed}
    else:
        ret["changes"]["beacon"] = {"old": current, "new": wanted}
        said.append(
            f"beacon {name} {'would be' if test else 'was'} {'added' if current is None else 'changed'}"
        )
        failed = None if test else _change_beacon(name, "add" if current is None else "modify", wanted)
        if failed:
            return {**ret, "result": False, "comment": failed}
    ret["comment"] = "; ".join(said)
    if test and ret["changes"]:
        ret["result"] = None
    return ret


def _beacon(name):
    """The beacon ``name`` as this minion runs it (its own, not pillar's), None when it has none."""
    found = __salt__["beacons.list"](return_yaml=False, include_pillar=False)
    return found.get(name) if isinstance(found, dict) else None


def _saved_beacon(name):
    """The beacon ``name`` as the minion's beacons.conf holds it (what runs after a restart), or None."""
    from saltext.sendmail.shared import saved_beacons

    return saved_beacons.saved(__opts__, name)


def _change_beacon(name, action=None, *args):
    """
    ``beacons.<action>`` of the beacon ``name`` in the running minion (none: it is as wanted
    there already), then ``beacons.save`` to beacons.conf. None when both went, else what failed.
    """
    if action:
        done = __salt__[f"beacons.{action}"](name, *args)
        if not done.get("result"):
            return f"beacon {name}: {done.get('comment')}"
    done = __salt__["beacons.save"]()
    if done.get("result"):
        return None
    return f"beacon {name} is changed until the minion restarts: not saved: {done.get('comment')}"


def _metrics_absent(name, prometheus):
    test = __opts__["test"]
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    found = _beacon(name)
    stored = _saved_beacon(name)
    settings = prometheus.settings(salt.utils.beacons.list_to_dict(found or stored or []))
    path = prometheus.host_file(settings["textfile_dir"])
    said = []
    if found is not None or stored is not None:
        ret["changes"]["beacon"] = {"old": found or stored, "new": None}
        said.append(f"beacon {name} {'would be' if test else 'was'} removed")
        # Only in beacons.conf (a run killed between its delete and its save): saving drops it.
        failed = None if test else _change_beacon(name, "delete" if found is not None else None)
        if failed:
            return {**ret, "result": False, "comment": failed}
    if __salt__["file.file_exists"](path):
        ret["changes"]["textfile"] = {"old": path, "new": None}
        said.append(f"{path} {'would be' if test else 'was'} removed")
        if not test:
            __salt__["file.remove"](path)
    ret["comment"] = "; ".join(said) or "no sendmail:metrics in pillar, and no metrics here"
    if test and ret["changes"]:
        ret["result"] = None
    return ret
