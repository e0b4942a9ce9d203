"""
See and run sendmail on a host: its version, daemons, listeners, queues, relay and vendor switches,
and the steps the ``sendmail`` states take to make it a mail client or a mail relay.

This file is what Salt loads: ``__virtual__``, the public functions and every use of Salt's
dunders, each function a few lines handing them to the module of its concept in
``saltext.sendmail.shared`` (docs, "How the code is organised"), imported when the function is
called: only what a call needs. Paths, services and timeouts come from ``sendmail.lookup``.
"""

try:  # now, while Salt loads this file: only then is _utils on the path (shared's docstring)
    from saltext.sendmail import shared
except ImportError as err:  # _utils not synced (saltutil.sync_modules alone), or not installed
    shared, MISSING = None, str(err)
else:
    shared = shared.fresh()

__virtualname__ = "sendmail"


def __virtual__():
    if shared is None:
        return False, f"saltext.sendmail.shared is missing ({MISSING}): run saltutil.sync_all"
    return __virtualname__


def _lookup():
    from saltext.sendmail.shared import platform

    overrides = __salt__["config.get"]("sendmail:lookup", {})
    return platform.lookup(__grains__.get("os_family", ""), overrides)


def version():
    """
    Which MTA answers as the sendmail binary: ``installed``, ``provider`` (sendmail, postfix,
    exim, other, none), ``version``, ``msp_split`` (8.12 and later) and ``binary``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.version
    """
    from saltext.sendmail.shared import binary

    return binary.info(_lookup()["sendmail_bin"], __context__, __opts__.get("cachedir"))


def listeners():
    """
    TCP sockets listening on 25, 465 or 587 here, each with ``exposed`` (CIS "local-only" rule).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.listeners
    """
    from saltext.sendmail.shared import processes

    return processes.listeners()


def queue(name=None, messages=False, limit=100):
    """
    The MTA and MSP queues (``name``: ``mta`` or ``msp`` for one): directories, ``count``,
    ``bytes``, ``oldest_age`` and what flushes each, counted from directory entries only. With
    ``messages``, at most ``limit`` (100) of each queue's messages, oldest first, parsed from their
    qf files: id, age, size, sender, recipients, tries, the last deferral reason.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.queue msp messages=True limit=10
    """
    from saltext.sendmail.shared import status_report

    return status_report.queue_report(_lookup(), name, messages, limit)


def status(max_queue_age=None, refresh=False):
    """
    Everything about sendmail on this host in one dictionary (docs, "Seeing a host:
    sendmail.status"): ``version``, ``daemons``, ``listeners``, ``exposed``, ``held_listeners``,
    ``queues``, ``relay``, ``switches``, ``local_mail``, ``hand_made_mc``, ``package`` and
    ``advisories`` (the last answer of :func:`patch_level`; ``refresh``: ask now, network),
    ``role`` and ``findings``. ``max_queue_age``: seconds before a queued message is old
    (default ``sendmail:max_queue_age``, else 86400).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.status
        salt '*' sendmail.status max_queue_age=3600
    """
    from saltext.sendmail.shared import status_report

    return status_report.for_salt(_lookup(), __salt__, __context__, __opts__, max_queue_age, refresh)


def patch_level(refresh=False):
    """
    The patch level of this host's sendmail (docs, "The patch level: which relays still lack a
    fix"): ``package`` and ``advisories``, asking the package manager only when its database or
    lists changed (the formula schedules this; :func:`status` reads the answer); ``refresh``:
    refresh the lists first and ask (network).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.patch_level
    """
    from saltext.sendmail.shared import patch_level

    return patch_level.for_salt(_lookup(), __salt__, __context__, __opts__, refresh)


def lookup():
    """
    The paths, services, packages and timeouts used here: the per-OS-family table with
    ``sendmail:lookup`` on top (the formula's map.jinja reads them from here).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.lookup
    """
    return _lookup()


def packages():
    """
    The packages the formula installs here: the lookup's ``pkgs``, none where the MTA is not
    sendmail (installing Debian's sendmail-bin would make apt remove postfix or exim).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.packages
    """
    return _lookup()["pkgs"] if version()["provider"] in ("sendmail", "none") else []


def upgrade(packages, version):
    """
    Upgrade the ``packages`` that provide sendmail (lookup ``upgrade_packages``) to ``version``,
    the vendor's own restart held back (Debian's policy-rc.d): ``salt-run sendmail.patch_relays``
    restarts the MTA once, after the role. Returns ``changes`` (``pkg.install``'s), ``restart_held``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.upgrade '[sendmail-base, sendmail-bin, sendmail-cf]' 8.17.1.9-2+deb12u3
    """
    from saltext.sendmail.shared import upgrade as package_upgrade

    return package_upgrade.install(__salt__, _lookup(), packages, version)


def settings(role=None, secrets=False):
    """
    What the formula applies here, from the ``sendmail`` pillar: ``role`` (or ``role`` given),
    ``site``, ``site_relays`` and the role state's arguments; errors name the pillar key. The
    relay password is masked unless ``secrets`` (the role state asks for it).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.settings
    """
    from saltext.sendmail.shared import pillar

    resolved = pillar.resolve(_config(), __grains__, role)
    return resolved if secrets else pillar.masked(resolved)


def _config():
    # Pillar's sendmail, the minion config's on top: not config.get (the grain would hide the
    # pillar), not pillar.get (3008 masks every value unless unmask=True, unknown to 3006).
    from saltext.sendmail.shared import pillar

    return pillar.merged(__pillar__.get("sendmail"), __opts__.get("sendmail"))


def validate(config=None, part="pillar"):
    """
    Check ``config`` as ``part`` (``pillar``, ``beacon``, ``metrics_beacon``) against every key
    the package knows, or (no ``config``) this minion's ``sendmail`` pillar, minion config on top,
    and what its role needs (a role: else "the formula leaves this minion alone"; a site with
    relays). Returns the problems, each naming the key path (``sendmail:msp_intervall: unknown
    key; did you mean msp_interval?``).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.validate
        salt '*' sendmail.validate part=beacon config='{interval: 60, checks: [listeners]}'
    """
    from saltext.sendmail.shared import pillar, schema

    if config is None and part == "pillar":
        return pillar.minion_problems(_config(), __grains__)
    return schema.problems_of(part, config)


def compliance(report=None):
    """
    The fleet's one judgement of this host, which the report, the beacon and the metrics read
    (docs, "The one judgement: sendmail.compliance"): ``verdict`` (only ``drifted`` is the
    reactor's), ``expected``, ``observed``, ``findings`` (those that count), ``other_findings``,
    ``problem``... ``report``: a :func:`status` report already read (the beacon passes its own).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.compliance
    """
    from saltext.sendmail.shared import judgement

    return judgement.for_minion(report or status(), _config, __grains__)


def metrics(textfile_dir=None, interval=None):
    """
    This host's sendmail as Prometheus metrics (docs, "Prometheus metrics and alerts"): queues,
    daemons, listeners, verdict, roles, findings, version, missing fixes, from one :func:`status`.

    textfile_dir
        Also write them there (``sendmail.prom``, atomically) for node_exporter's textfile
        collector, as the ``sendmail_metrics`` beacon does.

    interval
        Seconds between refreshes, for the stale alert (default ``sendmail:metrics:interval``).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.metrics
        salt '*' sendmail.metrics textfile_dir=/var/lib/prometheus/node-exporter
    """
    import time

    from saltext.sendmail.shared import metrics as prometheus

    interval = interval or prometheus.interval_of(_config())
    now, report = time.time(), status()
    text = prometheus.render(prometheus.host(report, compliance(report), now, interval))
    return prometheus.write_host(textfile_dir, text)


def flush(name=None, timeout=300):
    """
    Run the MSP queue (``sendmail -Ac -qf``) and the MTA queue (``sendmail -qf``) once, now
    (``name``: one of them; at most ``timeout`` seconds each): the ids that ``left`` each queue
    and those ``remaining``. Nothing is deleted.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.flush
        salt '*' sendmail.flush msp
    """
    from saltext.sendmail.shared import queues

    return queues.flush_now(_lookup(), __salt__["cmd.run_all"], name, timeout)


def render_mc(
    kind,
    relay=None,
    port=None,
    relay_domains=None,
    limits=None,
    tls=None,
    auth=None,
    masquerade_as=None,
    features=None,
):
    """
    The .mc text of a configuration, every value checked against the allowlist first. ``kind``:
    ``msp`` (submit.mc), ``nullclient`` (sendmail.mc sending all to the relay) or ``server``.
    ``relay``: one relay or an ordered list (``[mail.example.com]``, ``[192.0.2.1]``,
    ``[IPv6:2001:db8::25]``, optionally ``esmtp:``...), a server's smart host; ``port`` when not
    25; a server's ``relay_domains``, ``limits`` and ``features`` (docs, "Relays as sites run
    them"); ``tls``, ``auth``: the hop's STARTTLS, AUTH; ``masquerade_as``: the mail's domain.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.render_mc msp '["[mx1.example.com]", "[mx2.example.com]"]' port=587
        salt '*' sendmail.render_mc server features='{mailertable: {example.net: "esmtp:[192.0.2.5]"}}'
    """
    from saltext.sendmail.shared import build, mc

    lookup = _lookup()
    hop = {"tls": tls, "auth": auth}
    args = (kind, relay, port, relay_domains, limits, hop, lookup, masquerade_as, False, features)
    return mc.for_host(build.request(*args), lookup)


def build_cf(
    kind,
    relay=None,
    port=None,
    relay_domains=None,
    limits=None,
    tls=None,
    auth=None,
    masquerade_as=None,
    test=False,
    replace_hand_made=False,
    features=None,
):
    """
    Build and install a configuration (docs, "Building a configuration safely"): render the
    .mc, build the cf with m4, check it (sendmail loads it, relay and hardening read back), then
    rename both into place, keeping ``.bak`` copies; on any failure nothing is replaced.
    ``kind``, ``relay``, ``port``, ``relay_domains``, ``limits``, ``tls``, ``auth``, ``masquerade_as``,
    ``features``: as for :func:`render_mc`; ``test`` writes nothing. A server refuses to replace a
    hand-made sendmail.mc whose lines it would drop (docs, "Adopting a hand-made relay
    (replace_hand_made)") unless ``replace_hand_made``. Returns ``kind``, ``dropped``, ``cf``,
    ``relay``, ``changed``, ``files`` (per changed file, ``old``/``new`` and a ``diff``) and
    ``in_place`` (files written in place: mount points of their own).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.build_cf msp relay='"[mail.example.com]"' test=True
        salt '*' sendmail.build_cf server relay_domains='["example.com"]'
    """
    from saltext.sendmail.shared import build

    lookup = _lookup()
    hop = {"tls": tls, "auth": auth}
    args = (relay, port, relay_domains, limits, hop, lookup, masquerade_as, replace_hand_made)
    return build.apply(build.request(kind, *args, features), lookup, __salt__["cmd.run_all"], test)


def credentials(role, tls=None, auth=None, test=False):
    """
    Write (or remove) the files that carry the hop's secrets for ``role``: PEM text from pillar
    (in ``tls_dir``; a key root 0600) and a client's authinfo map (root, group smmsp, 0640), the
    old ones kept as ``.bak``; nothing returned or logged shows a secret. ``tls``, ``auth`` as for
    :func:`render_mc`; ``test`` writes nothing. Returns ``changed`` and masked ``files``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.credentials client auth='{user: host1, password: secret}' test=True
    """
    from saltext.sendmail.shared import secret_files

    return secret_files.apply(role, tls, auth, _lookup(), __salt__["cmd.run_all"], test)


def aliases(names=None, domain=None, test=False, virtusers=None):
    """
    Set the site's aliases on this relay (docs, "Local mail"): each name of ``names`` (a target
    or a list) in the aliases file and, with ``domain``, ``NAME@domain`` in the virtusertable,
    with the site's own ``virtusers`` entries; other aliases (and their bytes) kept, each file
    built by sendmail aside first; ``test`` writes nothing. Returns ``changed``, ``files`` (per
    name ``old``/``new``) and ``in_place``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.aliases '{root: ops@example.com}' domain=example.com test=True
    """
    from saltext.sendmail.shared import local_mail

    return local_mail.apply(_lookup(), names, domain, __salt__["cmd.run_all"], test, virtusers)


def check_role(role, relay=None, msp_runner="daemon", queue_interval=None, msp_interval=None):
    """
    Whether applying ``role`` with these values (``relay``, ``msp_runner``, ``queue_interval``,
    ``msp_interval``, as the states take them) would lose mail (a relay that is this host),
    touching nothing; raises SaltInvocationError for a value outside the allowlist or an interval
    cron cannot space evenly. Returns the problems (empty: safe to apply).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.check_role client relay='"[mail.example.com]"'
    """
    from saltext.sendmail.shared import roles

    return roles.check(role, relay, msp_runner, queue_interval, msp_interval)


def switch(role, queue_interval="15m", msp_interval="15m", msp_runner="daemon", test=False):
    """
    Set the vendor's own daemon switch for ``role`` (``client`` or ``server``): Debian's
    sendmail.conf (then its update_conf), Red Hat's /etc/sysconfig/sendmail, Solaris'
    /etc/default/sendmail, FreeBSD's rc.conf, replaced atomically and put back if update_conf
    fails; no service is touched (:func:`services`). ``queue_interval``, ``msp_interval``:
    sendmail durations; ``msp_runner``: ``daemon`` or ``cron``; ``test`` writes nothing. Returns
    ``role``, ``changed`` and ``files`` (per file, each changed variable's ``old`` and ``new``).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.switch server queue_interval=30m test=True
    """
    from saltext.sendmail.shared import switches

    intervals = (queue_interval, msp_interval)
    return switches.run(_lookup(), role, intervals, msp_runner, __salt__["cmd.run_all"], test)


def config_files():
    """
    Every file the role states write: its text (non-UTF-8: ``{base64: ...}``), a secret's inode.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.config_files --out=json > previous.json
    """
    from saltext.sendmail.shared import rollback

    return rollback.portable(rollback.saved(_lookup()))


def restore(files):
    """
    Put back ``files`` as :func:`config_files` returned them: only the module's, only those that
    differ, .mc files first, maps rebuilt. Returns ``restored`` and ``not_restored`` (path: why).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.restore "$(cat previous.json)"
    """
    from saltext.sendmail.shared import rollback

    return rollback.restore(_lookup(), files, __salt__["cmd.run_all"])


def services(role, msp_runner="daemon", restart=False, test=False, timeout=None):
    """
    Bring the daemons to ``role`` with the vendor's service manager, after :func:`switch`: only
    what differs, unless ``restart``; a failed unit reset first; then wait up to ``timeout``
    seconds (lookup ``services_timeout``) for processes and sockets to agree. Where the MSP unit
    needs the MTA (Red Hat) a client's MSP queue goes to cron; an MTA the vendor's stop left
    running is ended (SIGTERM). ``test`` changes nothing. Returns ``changed``, ``actions``,
    ``running`` (before), ``enabled``, ``wanted``, ``msp_runner`` and ``ended``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.services server restart=True
    """
    from saltext.sendmail.shared import service_manager

    lookup = _lookup()
    enabled, call = service_manager.manager(lookup, __grains__.get("init"), __salt__)
    return service_manager.converge(lookup, role, msp_runner, restart, test, timeout, enabled, call)


def cron_runner(queue, interval=None, test=False):
    """
    Keep one root cron entry (Salt's cron module) that runs ``queue`` (``mta``: ``sendmail -q``;
    ``msp``: ``sendmail -Ac -q``) every ``interval`` at a minute derived from the minion id (or
    ``sendmail:cron_seed``); no ``interval``: remove it; ``test`` changes nothing. Returns
    ``identifier``, ``changed`` and the entry's ``old`` and ``new`` line.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.cron_runner msp 15m test=True
    """
    from saltext.sendmail.shared import crontabs

    # sendmail:cron_seed groups hosts on one minute on purpose; the minion id spreads them.
    seed = __salt__["config.get"]("sendmail:cron_seed", None) or __opts__["id"]
    return crontabs.keep(queue, interval, seed, _lookup()["sendmail_bin"], __salt__, test)
