"""
Make a host play the sendmail role it is given: ``client`` (relays to the site's mail relay and
listens on nothing) or ``server`` (a hardened, listening MTA).

The state decides and reports; every step is an execution-module function called through
``__salt__`` (``sendmail.check_role``, ``build_cf``, ``flush``, ``cron_runner``, ``switch``,
``services``) that returns plain data, which the state turns into its changes and comment. Each
step first runs with ``test=True``: every value is checked and the whole change is known before
anything is written, and test mode stops there. Each state below has its SLS example;
``sendmail.metrics`` keeps the Prometheus textfile and its beacon as pillar asks.
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
    return _apply(
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

    .. code-block:: yaml

        sendmail-server:
          sendmail.server:
            - relay_domains:
              - example.com
              - 198.51.100
            - limits:
                max_message_size: 52428800
    """
    return _apply(
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
    )


def _builds(role, msp_split, args):
    """The configurations a role installs, as ``sendmail.build_cf`` arguments."""
    relay, port = args["relay"], args["port"]
    if role == "server":
        return [
            {
                "kind": "server",
                "relay": relay,
                "port": port,
                "relay_domains": args["relay_domains"],
                "limits": args["limits"],
                "tls": args["tls"],
                "auth": args["auth"],
                "masquerade_as": args["masquerade_as"],
            },
            # The MSP hands mail to the local MTA again (sendmail's default).
            {"kind": "msp", "relay": "[127.0.0.1]"},
        ]
    # What a client's configurations share: the hop, its domain, its queue timeouts.
    hop = {key: args[key] for key in ("tls", "auth", "masquerade_as", "limits")}
    nullclient = {"kind": "nullclient", "relay": relay, "port": port, **hop}
    if not msp_split:
        return [nullclient]
    # sendmail.cf too: what stays in the MTA queue then goes to the relay as well.
    return [{"kind": "msp", "relay": relay, "port": port, **hop}, nullclient]


def _apply(name, role, **args):
    """
    Decide, then act: every step runs first with ``test=True``, which checks every value, tries
    every build (m4 into memory) and predicts every change without writing anything. Test mode,
    a refusal and the common highstate case (nothing to change) end there, in one pass. Only
    then do the same steps run for real, in the same order; if any of them fails, the files
    read before the first one are put back and the daemons brought back to what ran before.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    # One run at a time on a host; test mode writes nothing and takes no lock.
    locked = not __opts__.get("test")
    try:
        interrupted = __salt__["sendmail.lock"]() if locked else None
        facts, predicted = _predict(role, args)
    except (CommandExecutionError, SaltInvocationError) as err:
        if locked:
            __salt__["sendmail.finish"](completed=False)
        ret.update(result=False, comment=str(err))
        return ret
    if not predicted.changes:
        ret["comment"] = f"sendmail already plays the {role} role"
        if interrupted:
            ret["comment"] += f"; {interrupted}: nothing was left to do, its record is cleared"
        if locked:
            __salt__["sendmail.finish"]()
        return ret
    if __opts__.get("test"):
        ret.update(result=None, changes=predicted.changes, comment="; ".join(predicted.said))
        return ret
    completed = False
    try:
        # Written before the first change: what a failure, or the run after a kill, puts back.
        journal = __salt__["sendmail.begin"](role, facts["running"])
        steps = _Steps(test=False)
        if interrupted:
            steps.said.append(f"{interrupted}: rolled forward")
            steps.services_touched = True  # the killed run may have stopped or started daemons
        try:
            _run_steps(steps, role, args, facts)
        # Any failure at all, foreseen or not, must leave the previous configuration in place.
        except Exception as err:
            ret["result"] = False
            steps.said.append(str(err) or type(err).__name__)
            completed, done = _put_back(steps, journal["files"], journal["running"])
            steps.said.append(done)
        else:
            completed = True
            # The sendmail grain says what the host plays, so that -G targeting follows the change.
            # refresh_grains also refreshes pillar, which sends the new grains to the master's cache.
            if "saltutil.refresh_grains" in __salt__:
                __salt__["saltutil.refresh_grains"]()
    except (CommandExecutionError, SaltInvocationError) as err:
        ret.update(result=False, comment=f"nothing changed: {err}")
        return ret
    finally:
        __salt__["sendmail.finish"](completed=completed)
    ret.update(changes=steps.changes, comment="; ".join(steps.said))
    return ret


def _predict(role, args):
    """
    Every step with ``test=True``: the values checked, the builds tried, the change known. Returns
    the facts the real run needs and the predicted :class:`_Steps`. Raises on a refusal.
    """
    problems = __salt__["sendmail.check_role"](
        role,
        relay=args["relay"],
        msp_runner=args["msp_runner"],
        queue_interval=args["queue_interval"],
        msp_interval=args["msp_interval"],
    )
    if problems:
        raise CommandExecutionError(f"refused, nothing changed: {'; '.join(problems)}")
    version = __salt__["sendmail.version"]()
    if version["provider"] != "sendmail":
        raise CommandExecutionError(
            f"{version['binary']} is {version['provider']}, not sendmail: nothing changed"
        )
    daemons = __salt__["sendmail.services"](role, args["msp_runner"], test=True)
    facts = {
        "msp_split": version["msp_split"],
        # The daemons as they run before anything changes (and as a failure brings them back).
        "running": daemons["running"],
        # What runs the MSP queue here: cron where the vendor's MSP unit needs the MTA.
        "msp_runner": daemons["msp_runner"],
        "mta_queued": __salt__["sendmail.queue"]("mta")["count"] if role == "client" else 0,
    }
    predicted = _Steps(test=True)
    _run_steps(predicted, role, args, facts)
    return facts, predicted


def _run_steps(steps, role, args, facts):
    """The steps of ``role``, in order: configurations, queue runners, vendor switch, daemons."""
    builds = _builds(role, facts["msp_split"], args)
    cf_changed = False
    for build in builds:
        cf_changed |= steps.build(**build)
    # After the cfs (they name these files optionally, -o), before the daemons that read them.
    cf_changed |= steps.credentials(role, args["tls"], args["auth"])
    if role == "server":
        # After the cf (its virtusertable line names the map): the site's aliases.
        steps.aliases(args["aliases"], args["masquerade_as"])
    msp_runner = facts["msp_runner"]
    msp_cron = args["msp_interval"] if msp_runner == "cron" and facts["msp_split"] else None
    steps.cron_runner("msp", msp_cron)
    if role == "client":
        _keep_mta_queue(steps, args, facts, cf_changed)
    steps.switch(role, args["queue_interval"], args["msp_interval"], msp_runner)
    steps.services(role, msp_runner, cf_changed, facts["running"])
    if role == "server":
        # The daemon runs the MTA queue now: a cron entry left by the client role goes.
        steps.cron_runner("mta", None)


def _keep_mta_queue(steps, args, facts, cf_changed):
    """
    A client's MTA queue: flushed to the relay before the MTA stops (or once sendmail.cf points at
    the relay), then run by cron as long as anything is left. Before 8.12 every message goes through
    it, so its cron entry always stays.
    """
    queued = facts["mta_queued"]
    if queued and (facts["running"]["mta"] or cf_changed):
        if steps.test:
            steps.note(
                "mta-queue",
                f"{queued} queued",
                f"flushed to the relay; what is left stays under a cron runner every "
                f"{args['queue_interval']}",
                f"would flush {queued} queued messages to the relay",
            )
            # How many stay (and so whether cron must run them) is known only after the flush.
            return
        flushed = __salt__["sendmail.flush"]("mta", timeout=args["flush_timeout"])["mta"]
        left = len(flushed["remaining"])
        steps.note(
            "mta-queue",
            f"{queued} queued",
            f"{queued - left} sent to the relay, {left} queued",
            f"flushed the MTA queue: {queued - left} sent, {left} left under a cron runner",
        )
        queued = left
    keep = queued or not facts["msp_split"]
    steps.cron_runner("mta", args["queue_interval"] if keep else None)


def _put_back(steps, saved, running):
    """
    After a failed step: every managed file gets its text from before the first step back (the
    module rewrites only those that differ) and, when the services were touched, the daemons are
    brought back to what ran before. Returns whether it all went back, and what was done.
    (Flushed mail stays delivered; a cron runner set for a queue that holds mail stays: both
    are safe.)
    """
    try:
        restored = __salt__["sendmail.restore"](saved)["restored"]
        done = f"put the previous files back ({', '.join(restored) or 'none had changed'})"
        if steps.services_touched:
            from saltext.sendmail.shared import service_manager

            old_role, old_runner = service_manager.role_of(running)
            __salt__["sendmail.services"](old_role, old_runner, restart=True)
            done += " and restarted the daemons as they ran before"
    except Exception as err:  # reported: the state has failed already
        return False, f"could not put the previous configuration back: {err}"
    for path in saved:
        steps.changes.pop(path, None)
    return True, done


class _Steps:
    """
    Runs the execution-module steps with one test flag and turns what each returns (plain data)
    into the state's changes and comments.
    """

    def __init__(self, test):
        self.test = test
        self.changes, self.said = {}, []
        self.services_touched = False

    def _verb(self, done, predicted):
        return predicted if self.test else done

    def build(self, **build):
        """Returns whether the cf changed: the daemons read it when they start. The access map and
        the help file alone need no restart: each SMTP connection opens them anew."""
        result = __salt__["sendmail.build_cf"](**build, test=self.test)
        cf_changed = result["cf"] in result["files"]
        if cf_changed:
            relay = f" relaying to {result['relay']}" if result["relay"] else ""
            self.said.append(
                f"{self._verb('installed', 'would install')} a {result['kind']} configuration"
                f"{relay} in {result['cf']}"
            )
        elif result["changed"]:
            self.said.append(
                f"{self._verb('wrote', 'would write')} {', '.join(sorted(result['files']))} (read by"
                " each connection: the daemons go on)"
            )
        if result["changed"]:
            self.changes.update(result["files"])
            self._said_in_place(result)
        return cf_changed

    def _said_in_place(self, result):
        for path in result.get("in_place") or ():
            self.said.append(
                f"wrote {path} in place, after its .bak: it is a mount point of its own, which a "
                "rename cannot replace"
            )

    def credentials(self, role, tls, auth):
        result = __salt__["sendmail.credentials"](role, tls=tls, auth=auth, test=self.test)
        if result["changed"]:
            self.changes.update(result["files"])  # masked by the module
            self.said.append(f"{self._verb('wrote', 'would write')} {', '.join(result['files'])}")
        return result["changed"]

    def aliases(self, names, domain):
        result = __salt__["sendmail.aliases"](names, domain=domain, test=self.test)
        if result["changed"]:
            self.changes.update(result["files"])
            self.said.append(f"{self._verb('set', 'would set')} aliases in {', '.join(result['files'])}")
            self._said_in_place(result)

    def cron_runner(self, queue, interval):
        result = __salt__["sendmail.cron_runner"](queue, interval, test=self.test)
        if result["changed"]:
            self.changes[f"cron:{result['identifier']}"] = {"old": result["old"], "new": result["new"]}
            verb = self._verb("removed", "would remove") if result["new"] is None else None
            verb = verb or self._verb("set", "would set")
            self.said.append(f"{verb} cron entry {result['identifier']}")

    def switch(self, role, queue_interval, msp_interval, msp_runner):
        result = __salt__["sendmail.switch"](
            role,
            queue_interval=queue_interval,
            msp_interval=msp_interval,
            msp_runner=msp_runner,
            test=self.test,
        )
        if result["changed"]:
            self.changes.update(result["files"])
            self.said.append(
                f"{self._verb('set', 'would set')} the {role} switch in {', '.join(result['files'])}"
            )

    def services(self, role, msp_runner, restart, running):
        self.services_touched = not self.test
        result = __salt__["sendmail.services"](role, msp_runner, restart=restart, test=self.test)
        if result["changed"]:
            self.changes["services"] = {
                "old": {"running": running, "enabled": result["enabled"]},
                "new": {"running": result["wanted"], "actions": result["actions"]},
            }
            self.said.append(f"{self._verb('ran', 'would run')} {', '.join(result['actions'])}")
        for daemon in result.get("ended", []):
            self.said.append(
                f"stopped pid {daemon['pid']} ({daemon['title']}), an MTA outside the service"
            )

    def note(self, key, old, new, comment):
        self.changes[key] = {"old": old, "new": new}
        self.said.append(comment)


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
    try:
        settings = __salt__["sendmail.settings"](role, secrets=True)
    except (CommandExecutionError, SaltInvocationError) as err:
        return {"name": name, "result": False, "changes": {}, "comment": str(err)}
    chosen = settings.pop("role")
    site = settings.pop("site")
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
                __salt__["sendmail.metrics"](textfile_dir=settings["textfile_dir"])
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
        if not test:
            failed = _save_beacons(name)
            if failed:
                return {**ret, "result": False, "comment": failed}
    else:
        ret["changes"]["beacon"] = {"old": current, "new": wanted}
        said.append(
            f"beacon {name} {'would be' if test else 'was'} {'added' if current is None else 'changed'}"
        )
        if not test:
            done = __salt__["beacons.modify" if current is not None else "beacons.add"](name, wanted)
            failed = (
                _save_beacons(name) if done.get("result") else f"beacon {name}: {done.get('comment')}"
            )
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


def _save_beacons(name):
    """Save the minion's beacons in beacons.conf: None when saved, else what failed, in a sentence."""
    done = __salt__["beacons.save"]()
    if done.get("result"):
        return None
    return f"beacon {name} is changed until the minion restarts: not saved: {done.get('comment')}"


def _metrics_absent(name, prometheus):
    test = __opts__["test"]
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    found = _beacon(name)
    # A run killed between its delete and its save left the beacon in beacons.conf only.
    stored = _saved_beacon(name)
    settings = prometheus.settings(salt.utils.beacons.list_to_dict(found or stored or []))
    path = prometheus.host_file(settings["textfile_dir"])
    said = []
    if found is not None or stored is not None:
        ret["changes"]["beacon"] = {"old": found or stored, "new": None}
        said.append(f"beacon {name} {'would be' if test else 'was'} removed")
        if not test:
            done = __salt__["beacons.delete"](name) if found is not None else {"result": True}
            failed = (
                _save_beacons(name) if done.get("result") else f"beacon {name}: {done.get('comment')}"
            )
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
