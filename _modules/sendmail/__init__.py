"""
See and run sendmail on a host: its version, daemons, listeners, queues, relay and vendor switches,
and the steps the ``sendmail`` states take to make it a mail client or a mail relay.

This file is what Salt loads: ``__virtual__``, the public functions and every use of ``__salt__``,
``__grains__``, ``__opts__`` and ``__context__``. Each concept lives in a plain submodule that takes
what it needs as arguments (README, "How the code is organised"). Salt's loader runs this file
before it registers it as a package, so the submodules are imported inside the functions.

Paths come from the per-OS-family table (``platform.py``) with the ``sendmail:lookup`` dictionary
from minion config, grains or pillar on top, for sites with nonstandard layouts and for tests:

.. code-block:: yaml

    sendmail:
      lookup:
        sendmail_cf: /etc/sendmail.cf
      max_queue_age: 86400
"""

import contextlib
import socket
import time

from salt.exceptions import CommandExecutionError, SaltInvocationError

try:
    import psutil  # noqa: F401  (processes.py needs it)

    HAS_PSUTIL = True
except ImportError:  # pragma: no cover - psutil ships with every Salt package
    HAS_PSUTIL = False

__virtualname__ = "sendmail"

DEFAULT_MAX_QUEUE_AGE = 86400


def __virtual__():
    if not HAS_PSUTIL:
        return (False, "the sendmail module needs the psutil library")
    return __virtualname__


def _paths():
    from . import platform

    return platform.lookup(
        __grains__.get("os_family", ""), __salt__["config.get"]("sendmail:lookup", {})
    )


@contextlib.contextmanager
def _os_errors(what):
    """Errors from the file system become CommandExecutionError here, once, naming the file."""
    try:
        yield
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        raise CommandExecutionError(f"{what}: {where}{err.strerror or err}") from err


def _run_checked(cmd, what, timeout=120):
    ret = __salt__["cmd.run_all"](
        cmd, python_shell=False, timeout=timeout, ignore_retcode=True, output_loglevel="debug"
    )
    if ret["retcode"] != 0:
        detail = (ret["stderr"] or ret["stdout"]).strip().splitlines()[-1:] or ["no output"]
        raise CommandExecutionError(f"{what} failed (exit {ret['retcode']}): {detail[0]}")
    return ret


def _hostnames():
    from . import relays

    return relays.this_host_names(socket.gethostname())


# ---------------------------------------------------------------------------------------------------
# Seeing
# ---------------------------------------------------------------------------------------------------


def version():
    """
    Which MTA answers as the sendmail binary, and its version.

    Returns ``installed``, ``provider`` (sendmail, postfix, exim, other or none), ``version``
    (e.g. ``8.17.1.9``), ``msp_split`` (8.12 and later: a separate submit.cf and client queue)
    and ``binary``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.version
    """
    from . import binary

    return binary.info(_paths()["sendmail_bin"], __context__)


def listeners():
    """
    Every TCP socket listening on port 25, 465 or 587 in this host's network namespace, with its
    address, port, owning pid and process, and ``exposed``: true unless the address is 127.0.0.1
    or ::1 (the CIS "MTA is configured for local-only mode" rule).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.listeners
    """
    from . import processes

    return processes.listeners()


def queue(name=None, messages=False, limit=100):
    """
    The MTA and MSP queues: directories, ``count``, ``bytes``, ``oldest_age`` (seconds) and what
    flushes each (``runner``/``runners``). Counting reads directory entries only.

    name
        ``mta`` or ``msp`` for one queue; both by default.

    messages
        Also list messages, oldest first, each parsed from its qf file: id, age, size, sender,
        recipients, tries and the last deferral reason.

    limit
        At most this many messages per queue (default 100).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.queue
        salt '*' sendmail.queue msp messages=True limit=10
    """
    from . import cf, checks, crontabs, processes, queues

    if name is not None:
        checks.queue_name(name)
    try:
        limit = max(int(limit), 0)
    except (TypeError, ValueError) as err:
        raise SaltInvocationError(f"limit must be a whole number, not {limit!r}") from err
    paths = _paths()
    cfs = cf.load_both(paths)
    now = time.time()
    queue_dirs = queues.directories(cfs, paths)
    daemons = processes.daemons(processes.pidfile_argv(cfs.values()), queue_dirs["msp"])
    report, where = queues.gather(
        queue_dirs, daemons, crontabs.find_runners(paths), now, locate=bool(messages)
    )
    if messages:
        for queue_name, located in where.items():
            report[queue_name]["messages"] = [
                queues.read_message(qf_name, *located[qf_name], now)
                for qf_name in queues.oldest_first(list(located), now, limit)
            ]
    return report if name is None else report[name]


def status(max_queue_age=None):
    """
    Everything about sendmail on this host in one dictionary:

    - ``installed``, ``provider``, ``version``, ``msp_split``, ``binary``;
    - ``daemons``: running sendmail processes with pid, user, kind (mta, msp-queue-runner,
      mta-queue-runner, other), whether it accepts connections, its queue interval and title;
    - ``listeners`` on 25/465/587 and ``exposed``;
    - ``queues``: mta and msp, with directories, count, bytes, oldest_age and runners (``bytes``
      is null past ``status_bytes_limit`` messages, 10,000 by default: summing sizes takes a
      stat per file; ``sendmail.queue`` always sums);
    - ``relay``: the smart host in sendmail.cf (``mta``) and ``D{MTAHost}`` of submit.cf (``msp``);
    - ``switches``: the vendor's daemon switches (Debian sendmail.conf, Red Hat sysconfig and units,
      Solaris /etc/default/sendmail, FreeBSD rc.conf);
    - ``role``: server, local-only, client, off or unknown;
    - ``findings``: problems, each with a stable ``id``, a ``severity`` and a ``message``.

    max_queue_age
        Seconds after which a queued message is reported as old (default: the
        ``sendmail:max_queue_age`` config value, else 86400).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.status
        salt '*' sendmail.status max_queue_age=3600
    """
    from . import binary, cf, crontabs, files, findings, processes, queues, roles, switches

    if max_queue_age is None:
        max_queue_age = __salt__["config.get"]("sendmail:max_queue_age", DEFAULT_MAX_QUEUE_AGE)
    try:
        max_queue_age = int(max_queue_age)
    except (TypeError, ValueError) as err:
        raise SaltInvocationError(
            f"max_queue_age must be a number of seconds, not {max_queue_age!r}"
        ) from err
    paths = _paths()
    now = time.time()
    report = binary.info(paths["sendmail_bin"], __context__)
    hostname = socket.gethostname()
    report["hostname"] = hostname
    hosts_text = files.read_text(paths["hosts_file"]) or ""
    report["hostname_qualified"] = findings.hostname_qualified(hostname, hosts_text)
    cfs = cf.load_both(paths)
    report["cf"] = {
        name: {"path": found["path"], "exists": found["exists"], "problems": found["problems"]}
        for name, found in cfs.items()
    }
    queue_dirs = queues.directories(cfs, paths)
    report["daemons"] = processes.daemons(processes.pidfile_argv(cfs.values()), queue_dirs["msp"])
    report["listeners"] = processes.listeners()
    report["exposed"] = any(listener["exposed"] for listener in report["listeners"])
    report["queues"], _ = queues.gather(
        queue_dirs,
        report["daemons"],
        crontabs.find_runners(paths),
        now,
        bytes_limit=int(paths["status_bytes_limit"]),
    )
    report["relay"] = cf.relay_facts(cfs, _hostnames())
    report["switches"] = switches.facts(paths)
    report["role"] = roles.played(report, report["listeners"], report["relay"])
    report["findings"] = findings.find(report, max_queue_age)
    return report


def lookup():
    """
    The paths, file names, services and packages this module uses on this minion: the per-OS-family
    table with ``sendmail:lookup`` (minion config, grains or pillar) on top. The formula's
    map.jinja reads them from here, so that SLS files and the module never disagree.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.lookup
    """
    return _paths()


def settings(role=None, secrets=False):
    """
    What the formula applies on this minion, read from the ``sendmail`` pillar: ``role``,
    ``site``, and the arguments of ``sendmail.client`` (``relay`` = the site's relays, ``port``,
    intervals) or ``sendmail.server`` (``relay_domains``, optional ``relay`` smart host). Errors name
    the pillar key (``sendmail:role``, ``sendmail:sites:SITE:relays``).

    role
        Use this role instead of ``sendmail:role``.

    secrets
        Show the site's ``auth:password`` (masked by default; the role state asks for it).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.settings
    """
    from . import pillar

    # Not config.get("sendmail"): grains come before pillar there, and the sendmail grain (the
    # role the host plays now) would hide the sendmail pillar. Not pillar.get either: Salt 3008
    # returns every value as "**********" unless asked with unmask=True, which 3006 does not know.
    # The minion config, then pillar.
    from_pillar = __pillar__.get("sendmail") or {}
    from_minion_config = __opts__.get("sendmail") or {}
    if not isinstance(from_pillar, dict) or not isinstance(from_minion_config, dict):
        raise SaltInvocationError(f"sendmail: expected a mapping in pillar, got {from_pillar!r}")
    config = {**from_pillar, **from_minion_config}
    resolved = pillar.resolve(config, __grains__, role)
    return resolved if secrets else pillar.masked(resolved)


# ---------------------------------------------------------------------------------------------------
# Doing: the steps of the role states, each also usable by hand (with test=True to predict)
# ---------------------------------------------------------------------------------------------------


def flush(name=None, timeout=300):
    """
    Run the MSP queue (``sendmail -Ac -qf``) and the MTA queue (``sendmail -qf``) once, now, and
    report which messages left each queue and which remain. Nothing is deleted.

    name
        ``mta`` or ``msp`` for one queue; both by default.

    timeout
        Seconds each queue run may take (default 300).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.flush
        salt '*' sendmail.flush msp
    """
    from . import cf, checks, queues

    if name is not None:
        checks.queue_name(name)
    paths = _paths()
    queue_dirs = queues.directories(cf.load_both(paths), paths)
    before = queues.ids(queue_dirs)
    runs = {}
    # The MSP queue first: what it hands to a local MTA is then flushed in the same call.
    for queue_name in ("msp", "mta"):
        if name not in (None, queue_name):
            continue
        spec = queues.QUEUES[queue_name]
        # -qf: run the queue once in the foreground (plain -q may fork and return first).
        ret = __salt__["cmd.run_all"](
            [paths["sendmail_bin"], spec["mode"], "-C", paths[spec["cf"]], "-qf"],
            python_shell=False,
            timeout=int(timeout),
            ignore_retcode=True,
            output_loglevel="debug",
        )
        runs[queue_name] = {"retcode": ret["retcode"], "stderr": ret["stderr"].strip()}
    after = queues.ids(queue_dirs)
    return {
        queue_name: {
            "left": sorted(before[queue_name] - after[queue_name]),
            "remaining": sorted(after[queue_name]),
            **run,
        }
        for queue_name, run in runs.items()
    }


def render_mc(kind, relay=None, port=None, relay_domains=None, limits=None, tls=None, auth=None):
    """
    The .mc text of a role's configuration, after checking every value against the allowlist.

    kind
        ``msp`` (submit.mc for sendmail 8.12 and later), ``nullclient`` (a sendmail.mc that sends
        everything to the relay) or ``server`` (a listening, hardened sendmail.mc).

    relay
        One relay or an ordered list: ``mail.example.com``, ``[mail.example.com]``, ``[192.0.2.1]``,
        ``[IPv6:2001:db8::25]``, optionally prefixed by ``esmtp:``, ``relay:`` or ``smtp:``.
        Required for ``msp`` and ``nullclient``; the optional smart host of a ``server``.

    port
        The relay's port, when not 25.

    relay_domains
        ``server`` only: the domains and IPv4 network prefixes (``198.51.100``) it relays for.

    limits
        ``server`` only: ``max_message_size`` (bytes, default 26214400), ``connection_rate_throttle``
        (new connections a second, default 10), ``max_daemon_children`` (concurrent SMTP
        children, default 40).

    tls
        STARTTLS on the hop to the relay (the site's ``tls`` pillar). A ``server`` needs ``cert``
        and ``key`` (each a path, or PEM text that :func:`credentials` writes to ``tls_dir``; a key
        file must not be readable by others), may have ``ca``, and with ``require: true`` answers
        hosts of its ``relay_domains`` networks 451 at MAIL until they STARTTLS. A client may have
        ``ca`` (the relay's certificate is verified against it) and ``require: true`` (no mail to
        the relay outside STARTTLS, and with ``ca`` only to a certificate that verifies; otherwise
        the message waits in the queue).

    auth
        SMTP AUTH on that hop (the site's ``auth`` pillar). A ``server`` offers ``mechanisms``
        (PLAIN and LOGIN, the default) only after STARTTLS, and relays for who authenticates. A
        client logs in with ``user`` and ``password`` (kept in the authinfo map that
        :func:`credentials` builds; the cf names only the map) and optional ``mechanisms``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.render_mc msp relay='"[mail.example.com]"'
        salt '*' sendmail.render_mc msp '["[mx1.example.com]", "[mx2.example.com]"]' port=587
        salt '*' sendmail.render_mc server relay_domains='["example.com", "198.51.100"]'
    """
    from . import build, mc

    paths = _paths()
    hop = {"tls": tls, "auth": auth}
    return mc.for_host(build.request(kind, relay, port, relay_domains, limits, hop, paths), paths)


def build_cf(kind, relay=None, port=None, relay_domains=None, limits=None, tls=None, auth=None,
             test=False):  # fmt: skip
    """
    Build and install a configuration: render the .mc, build the cf with m4, check it (the real
    sendmail must load it, its relay must read back exactly as asked, a submit.cf must not listen,
    a server's must listen, hardened), then rename both into place, keeping the previous files as
    ``.bak``. On any failure nothing is replaced. Nothing runs when the installed .mc is already the
    one asked for and the installed cf reads back right.

    kind
        ``msp`` (writes submit.mc/submit.cf), ``nullclient`` or ``server`` (sendmail.mc/sendmail.cf).

    relay, port, relay_domains, limits, tls, auth
        As for :func:`render_mc`.

    test
        Report what would change, writing nothing (m4 runs into memory only).

    Returns ``kind``, ``cf`` (its path), ``relay`` (the smart host it names), ``changed`` and
    ``files``: per changed file, ``old`` and ``new`` summaries and a unified ``diff``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.build_cf msp relay='"[mail.example.com]"'
        salt '*' sendmail.build_cf msp relay='"[mail.example.com]"' test=True
        salt '*' sendmail.build_cf server relay_domains='["example.com"]'
    """
    from . import build

    paths = _paths()
    request = build.request(kind, relay, port, relay_domains, limits, {"tls": tls, "auth": auth}, paths)
    run = __salt__["cmd.run_all"]
    with _os_errors(f"could not build the {kind} configuration"):
        planned = build.plan(request, paths, run)
        if planned["files"] and not test:
            build.install(planned, paths, run)
    return {
        "kind": kind,
        "cf": planned["cf"],
        "relay": planned["relay"] or None,
        "changed": bool(planned["files"]),
        "files": planned["files"],
    }


def credentials(role, tls=None, auth=None, test=False):
    """
    Write the files that carry the hop's secrets for ``role``, or remove them when no longer
    wanted: a certificate, key or CA given as PEM text (in ``tls_dir``, default tls/ beside
    sendmail.cf: ``salt-relay.crt``, ``salt-relay.key`` root 0600, ``salt-ca.crt``) and a client's
    authinfo map (``authinfo_map``, default ``salt-authinfo.db`` beside sendmail.cf: built by
    makemap from stdin, owned by root, group smmsp, mode 0640, since the MSP runs as smmsp). The
    previous files are kept as ``.bak``. Nothing returned or logged shows a secret.

    role
        ``client`` or ``server``.

    tls, auth
        As for :func:`render_mc`.

    test
        Report what would change, writing nothing.

    Returns ``changed`` and ``files``: per changed file, masked ``old`` and ``new``.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.credentials client auth='{user: host1, password: secret}' test=True
    """
    from . import checks, hop_files
    from . import tls as hop

    checks.role(role)
    paths = _paths()
    settings = hop.request("server" if role == "server" else "msp", paths, tls, auth)
    run = __salt__["cmd.run_all"]
    with _os_errors("could not write the hop's credentials"):
        planned = hop_files.plan(role, settings, paths, run)
        if planned["writes"] and not test:
            hop_files.install(planned["writes"], paths, run)
    return {"changed": bool(planned["files"]), "files": planned["files"]}


def check_role(role, relay=None, msp_runner="daemon", queue_interval=None, msp_interval=None):
    """
    Check, without touching anything, whether applying ``role`` with these values would lose
    mail: a client whose relay is this host (the MSP would queue for an MTA that is off), a server
    whose smart host is itself. Raises SaltInvocationError for values outside the allowlist, for
    an ``msp_runner`` that is not ``daemon`` or ``cron`` (the MSP queue needs a runner), and for
    intervals cron would run (a client's ``queue_interval``, ``msp_interval`` with
    ``msp_runner=cron``) that cron cannot space evenly.

    Returns the list of problems (empty when the role is safe to apply).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.check_role client relay='"[mail.example.com]"'
    """
    from . import checks, crontabs, roles

    checks.role(role)
    checks.msp_runner(msp_runner)
    relay_list = checks.relays(relay) if role == "client" else checks.optional_relays(relay)
    # Intervals that cron will run must be ones cron can space evenly: known now, not mid-apply.
    cron_intervals = {"queue_interval": queue_interval if role == "client" else None}
    cron_intervals["msp_interval"] = msp_interval if msp_runner == "cron" else None
    for field, interval in cron_intervals.items():
        if interval is not None:
            crontabs.schedule(checks.interval(interval, field), "", field)
    return roles.problems(role, relay_list, _hostnames())


def _write_config(paths, texts):
    """Replace files (path: text, or None to remove), then apply a switch file that was among them."""
    from . import files, switches

    files.replace_all(texts)
    command = switches.apply_command(paths, texts)
    if command:
        _run_checked(command, "Debian's update_conf")


def switch(role, queue_interval="15m", msp_interval="15m", msp_runner="daemon", test=False):
    """
    Set the vendor's own daemon switch for ``role``: Debian /etc/mail/sendmail.conf (then Debian's
    update_conf, which rewrites /etc/cron.d/sendmail), Red Hat /etc/sysconfig/sendmail, Solaris
    /etc/default/sendmail, FreeBSD rc.conf. A client's MTA is switched off and its MSP queue runner
    kept (``msp_runner=daemon``) or left to cron (``msp_runner=cron``, see :func:`cron_runner`); a
    server's MTA listens and runs its queue every ``queue_interval``. Services are not touched
    (see :func:`services`). Files are replaced atomically; if update_conf fails, the old files are
    put back.

    role
        ``client`` or ``server``.

    queue_interval, msp_interval
        sendmail durations (``15m``, ``1h``).

    msp_runner
        ``daemon`` (the vendor's MSP queue runner) or ``cron``.

    test
        Report what would change, writing nothing.

    Returns ``role``, ``changed`` and ``files``: per file to change, each changed variable's
    ``old`` and ``new`` value.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.switch client
        salt '*' sendmail.switch server queue_interval=30m test=True
    """
    from . import checks, switches

    checks.role(role)
    checks.msp_runner(msp_runner)
    checks.interval(queue_interval, "queue_interval")
    checks.interval(msp_interval, "msp_interval")
    paths = _paths()
    edits = switches.plan(paths, role, queue_interval, msp_interval, msp_runner)
    result = {"role": role, "changed": bool(edits), "files": {e["path"]: e["changes"] for e in edits}}
    if test or not edits:
        return result
    try:
        with _os_errors(f"could not set the {role} switch"):
            _write_config(paths, {edit["path"]: edit["new"] for edit in edits})
    except CommandExecutionError as err:
        try:
            with _os_errors("could not put the old switch files back"):
                _write_config(paths, {edit["path"]: edit["old"] for edit in edits})
        except CommandExecutionError as undo_err:
            raise CommandExecutionError(f"{err}; {undo_err}") from err
        raise CommandExecutionError(f"{err} (the old switch files are back)") from err
    return result


def config_files():
    """
    The current text of every file the role states write (both cfs, their .mc files, the vendor
    switch files; null for a missing file), and which credential file (:func:`credentials`) is in
    place, by inode, never its content: what :func:`restore` puts back after a failed step.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.config_files --out=json > previous.json
    """
    from . import files, hop_files, platform

    paths = _paths()
    saved = {path: files.read_text(path) for path in platform.managed_files(paths)}
    saved.update({path: hop_files.fingerprint(path) for path in hop_files.managed(paths)})
    return saved


def restore(files):
    """
    Put back files that a step of a role state replaced, when a later step fails: ``files`` maps
    each path to its previous text, or to null where there was no file (it is removed), as
    :func:`config_files` returns them. Only the files this module manages are accepted, and only
    those that differ are written, each atomically; a credential file comes back from its
    ``.bak``. Debian's update_conf runs again when sendmail.conf is among them. Returns
    ``restored``: the files written.

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.restore "$(cat previous.json)"
    """
    from . import files as file_io
    from . import hop_files, platform

    if not isinstance(files, dict):
        raise SaltInvocationError(f"files must map paths to their previous text, not {files!r}")
    paths = _paths()
    managed = platform.managed_files(paths)
    secret = hop_files.managed(paths)
    unknown = sorted(set(files) - set(managed) - set(secret))
    if unknown:
        raise SaltInvocationError(f"not files of this module, not restored: {', '.join(unknown)}")
    # In the module's order, whatever the order of ``files``: .mc files before their cfs.
    differing = {
        path: files[path] for path in managed if path in files and file_io.read_text(path) != files[path]
    }
    with _os_errors("could not restore"):
        _write_config(paths, differing)
        restored = [path for path in secret if path in files and hop_files.put_back(path, files[path])]
    return {"restored": list(differing) + restored}


def _service_enabled(paths, name):
    from . import service_plan

    if __grains__.get("init") != "systemd" and paths.get("sysv_rc_dir"):
        return service_plan.sysv_enabled(paths["sysv_rc_dir"], name)
    return bool(__salt__["service.enabled"](name))


def _service_call(paths, function, name):
    if function == "enable" and __grains__.get("init") != "systemd" and paths.get("sysv_rc_dir"):
        # Salt's debian_service.enable calls insserv, which Debian 12 does not install.
        _run_checked(["update-rc.d", name, "enable"], f"update-rc.d {name} enable")
        return
    if not __salt__[f"service.{function}"](name):
        raise CommandExecutionError(f"service.{function} {name} failed")


def services(role, msp_runner="daemon", restart=False, test=False, timeout=None):
    """
    Bring the sendmail daemons to ``role`` with the vendor's service manager, after
    :func:`switch`: a server's MTA listens, a client runs no MTA; the MSP queue runner runs when
    ``msp_runner`` is ``daemon``. Where the vendor's MSP runner cannot run without the MTA (Red Hat's
    ``sm-client.service`` is bound to ``sendmail.service``), a client's MSP queue is left to cron
    (``msp_runner`` in the result says so). Only what differs is started or stopped, unless
    ``restart`` (a new cf was installed). Then waits up to ``timeout`` seconds (default: the
    ``services_timeout`` lookup value, 15) for the process list to agree.

    Returns ``changed``, ``actions`` (``"stop sendmail"``...), ``running`` (before any action:
    ``mta``, an MTA accepts connections; ``msp_runner``, an MSP queue runner runs), ``enabled``
    (per service), ``wanted`` (what runs after the actions) and ``msp_runner`` (``daemon`` or
    ``cron``: what runs the MSP queue on this host in that role) and ``ended``: the MTA daemons
    that were still running after the service's stop (started by hand, outside the vendor's
    service), which a role without an MTA then stops itself with SIGTERM, as sendmail's own stop
    does (the queue files stay).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.services client
        salt '*' sendmail.services server restart=True
    """
    from . import cf, checks, processes, queues, service_plan

    checks.role(role)
    checks.msp_runner(msp_runner)
    paths = _paths()
    msp_runner = service_plan.msp_runner(paths, role, msp_runner)
    # The MSP queue's directories, read once: the process list is polled below.
    msp_dirs = queues.directories(cf.load_both(paths), paths)["msp"]
    running = processes.running(processes.daemons(msp_dirs=msp_dirs))
    enabled = {name: _service_enabled(paths, name) for name in service_plan.names(paths)}
    planned = service_plan.actions(paths, role, running, enabled, msp_runner, bool(restart))
    wanted = {"mta": role == "server", "msp_runner": msp_runner == "daemon"}
    result = {
        "changed": bool(planned),
        "actions": service_plan.describe(planned),
        "running": running,
        "enabled": enabled,
        "wanted": wanted,
        "msp_runner": msp_runner,
        "ended": [],
    }
    if test or not planned:
        return result
    for function, name in planned:
        _service_call(paths, function, name)
    timeout = float(timeout or paths["services_timeout"])
    deadline = time.monotonic() + timeout
    if not wanted["mta"]:
        result["ended"] = processes.end_mtas(processes.daemons(msp_dirs=msp_dirs), timeout)
    while (now_running := processes.running(processes.daemons(msp_dirs=msp_dirs))) != wanted:
        if time.monotonic() >= deadline:
            raise CommandExecutionError(
                f"after {', '.join(result['actions'])} the daemons are {now_running}, not {wanted}"
            )
        time.sleep(0.2)
    return result


def cron_runner(queue, interval=None, test=False):  # pylint: disable=redefined-outer-name
    """
    Keep one root cron entry that runs a queue: ``sendmail -q`` (``mta``) or ``sendmail -Ac -q``
    (``msp``), every ``interval`` at a minute derived from the minion id (a fleet does not flush
    at once). The entry carries a stable identifier, so a new interval replaces it. Without
    ``interval`` the entry is removed. Uses Salt's cron module (the ``crontab`` command).

    Returns ``identifier``, ``changed``, and the entry's ``old`` and ``new`` line (null: none).

    CLI Example:

    .. code-block:: bash

        salt '*' sendmail.cron_runner mta 1h
        salt '*' sendmail.cron_runner msp 15m test=True
        salt '*' sendmail.cron_runner mta
    """
    from . import checks, crontabs

    checks.queue_name(queue)
    paths = _paths()
    identifier = crontabs.IDENTIFIERS[queue]
    command = crontabs.command(checks.path(paths["sendmail_bin"], "sendmail:lookup:sendmail_bin"), queue)
    wanted = None
    if interval is not None:
        # sendmail:cron_seed groups hosts on one minute on purpose; the minion id spreads them.
        seed = __salt__["config.get"]("sendmail:cron_seed", None) or __opts__["id"]
        minute, hour = crontabs.schedule(checks.interval(interval, "interval"), seed)
        wanted = f"{minute} {hour} * * * {command}"
    entries = _cron_entries(identifier)
    current = [crontabs.line(entry) for entry in entries if not entry.get("commented")]
    result = {
        "identifier": identifier,
        "changed": current != ([wanted] if wanted else []) or len(entries) != len(current),
        "old": current[0] if current else None,
        "new": wanted,
    }
    if test or not result["changed"]:
        return result
    if wanted is None:
        __salt__["cron.rm_job"]("root", entries[0]["cmd"], identifier=identifier)
    else:
        __salt__["cron.set_job"](
            "root", minute, hour, "*", "*", "*", command, comment=crontabs.COMMENT,
            identifier=identifier,
        )  # fmt: skip
    # cron.set_job reports in words; read the table back instead.
    if (wanted is None) != (not _cron_entries(identifier)):
        raise CommandExecutionError(f"root's crontab does not hold the {identifier} entry as asked")
    return result


def _cron_entries(identifier):
    """root's crontab entries carrying ``identifier``, as Salt's cron module reads them."""
    return [
        entry
        for entry in __salt__["cron.list_tab"]("root").get("crons", [])
        if entry.get("identifier") == identifier
    ]
