"""
The build pipeline of a configuration: check the values, render the .mc, build the cf with m4 in
memory, read it back, have the real sendmail load it from a temp file, then rename both into place.
Any failure before the renames leaves the installed files as they were.

``run`` is Salt's ``cmd.run_all`` (passed in: this module has no dunders).
"""

import difflib

from salt.exceptions import CommandExecutionError, SaltInvocationError

from . import (
    allowlist,
    cf,
    errors,
    files,
    flood,
    hand_made,
    hash_maps,
    limits_table,
    mc,
    platform,
    relay_features,
    relay_maps,
    relays,
    steps,
    tls_auth,
)

DIFF_LINES = 120


def request(
    kind,
    relay=None,
    port=None,
    relay_domains=None,
    limits=None,
    hop_values=None,
    lookup=None,
    masquerade_as=None,
    replace_hand_made=False,
    features=None,
):
    """
    Every value that reaches an .mc, checked before anything is read or run. ``hop_values`` holds the
    site's ``tls`` and ``auth`` (see :func:`tls_auth.request`; ``lookup`` says where their files go);
    ``masquerade_as`` the domain the host's mail comes from; ``replace_hand_made`` (a server) lets
    it replace a sendmail.mc this package did not write, dropping what :mod:`hand_made` lists;
    ``features`` (a server) what its relay carries beyond relaying (:mod:`relay_features`).
    """
    if not isinstance(replace_hand_made, bool):
        raise SaltInvocationError(f"replace_hand_made: {replace_hand_made!r} is not true or false")
    allowlist.build_kind(kind)
    for name, value in (("relay_domains", relay_domains), ("features", features)):
        if value is not None and kind != "server":
            raise SaltInvocationError(f"{name}: only a server has {name}")
    checked_domains = allowlist.relay_domains(relay_domains)
    return {
        "kind": kind,
        "relays": allowlist.optional_relays(relay) if kind == "server" else allowlist.relays(relay),
        "port": None if port is None else allowlist.port(port),
        "relay_domains": checked_domains,
        "limits": allowlist.server_limits(limits)
        if kind == "server"
        else allowlist.queue_limits(limits),
        "hop": tls_auth.request(kind, lookup or {}, **(hop_values or {})),
        "masquerade_as": None if masquerade_as is None else allowlist.masquerade_domain(masquerade_as),
        "replace_hand_made": replace_hand_made,
        "features": relay_features.check(features, checked_domains) if kind == "server" else None,
    }


def check_built(
    kind,
    parsed,
    relay_list,
    port=None,
    help_file=None,
    limits=None,
    hop_settings=None,
    masquerade_as=None,
    features=None,
):
    """
    Read a built cf (parsed by :func:`cf.parse`) back: its relay must be exactly the one asked
    for, a client cf must not listen on the network and a server cf must listen, hardened, and
    show its version nowhere (greeting, Received: header, HELP reading ``help_file``), and the
    STARTTLS and AUTH options must be those of ``hop_settings`` (a server offers no AUTH without
    it), and a server's ``features`` its listeners, milters and privacy flags. Catches what m4
    and ``sendmail -bt`` both accept (an injected line). Returns a list of problems.
    """
    problems = list(parsed["problems"])
    listeners = parsed["all_options"].get("DaemonPortOptions", [])
    relay_port = cf.relay_port(parsed["mailer_args"].get("relay", []))
    if kind == "msp":
        hosts = relays.host_list(relay_list)
        if parsed["macros"].get("MTAHost") != hosts:
            problems.append(f"D{{MTAHost}} is {parsed['macros'].get('MTAHost')!r}, not {hosts!r}")
        if relay_port != (port or 25):
            problems.append(f"the relay mailer does not use port {port or 25}")
        if any("NoMTA" not in value or "127.0.0.1" not in value for value in listeners):
            problems.append(f"submit.cf would listen: DaemonPortOptions {listeners}")
    else:
        expected = relays.smart_host(relay_list)
        if parsed["macros"].get("S", "") != expected:
            problems.append(f"DS is {parsed['macros'].get('S')!r}, not {expected!r}")
        if relay_list and port and relay_port != port:
            problems.append(f"the relay mailer does not use port {port}")
    if kind == "server":
        if not listeners:
            problems.append("sendmail.cf of a server has no DaemonPortOptions: it would not listen")
        privacy = parsed["options"].get("PrivacyOptions", "")
        for flag in ("goaway", *(features or {}).get("privacy_flags", ())):
            if flag not in privacy.split(","):
                problems.append(f"PrivacyOptions is {privacy!r}, without {flag}")
        problems.extend(_features_read_back(parsed, listeners, features))
        for what, text in (
            ("the SMTP greeting", parsed["options"].get("SmtpGreetingMessage", "")),
            ("the Received: header", parsed["headers"].get("Received", "")),
        ):
            if "$v" in text or "$Z" in text:
                problems.append(f"{what} {text!r} shows the version")
        for name, (_, option, unit) in limits_table.cf_options(limits_table.SERVER).items():
            wanted = f"{(limits or {}).get(name)}{unit}"
            if (limits or {}).get(name) and parsed["options"].get(option) != wanted:
                problems.append(f"{option} is {parsed['options'].get(option)!r}, not {wanted}")
        if parsed["options"].get("HelpFile") != help_file:
            problems.append(
                f"HELP reads {parsed['options'].get('HelpFile')!r}, not the empty {help_file}"
            )
    for name, (_, option, _) in limits_table.cf_options(limits_table.QUEUE).items():
        if (limits or {}).get(name) and parsed["options"].get(option) != limits[name]:
            problems.append(f"{option} is {parsed['options'].get(option)!r}, not {limits[name]}")
    masquerade = parsed["macros"].get("M") or None
    # A nullclient masquerades as its hub unless told otherwise (nullclient.m4).
    if (masquerade_as or kind != "nullclient") and masquerade != masquerade_as:
        problems.append(f"DM (masquerade) is {masquerade!r}, not {masquerade_as!r}")
    hop_settings = hop_settings or {"tls": None, "auth": None}
    problems.extend(tls_auth.read_back(kind, parsed["options"], hop_settings))
    if parsed["repeated_macros"]:
        problems.append(f"macros defined more than once: {', '.join(parsed['repeated_macros'])}")
    return problems


def _features_read_back(parsed, listeners, features):
    """How a server cf's listeners and milters differ from its ``features``."""
    if not features:
        return []
    problems = []
    if len(listeners) != len(features["listen"]):
        problems.append(f"DaemonPortOptions {listeners}, not one per address of {features['listen']}")
    wanted = ",".join(milter["name"] for milter in features["milters"])
    if parsed["options"].get("InputMailFilters", "") != wanted:
        problems.append(
            f"InputMailFilters is {parsed['options'].get('InputMailFilters')!r}, not {wanted!r}"
        )
    return problems


def plan(build_request, lookup, run):
    """
    What installing ``build_request`` changes: ``cf``/``mc`` paths, the texts to write, and
    ``files`` (per changed path: ``old``/``new`` summaries and a unified ``diff``). Runs m4 into
    memory only, and not at all when the installed .mc is the one asked for and the installed cf
    reads back right (``cf_text`` None: a changed help file or access map alone is written
    without them). Raises CommandExecutionError when m4 fails or its cf is wrong.
    """
    kind, relay_list, port = build_request["kind"], build_request["relays"], build_request["port"]
    limits, hop_settings = build_request["limits"], build_request["hop"]
    masquerade_as = build_request.get("masquerade_as")
    mc_text = mc.for_host(build_request, lookup)
    cf_path, mc_path = platform.cf_pair(lookup, kind)
    old_mc, old_cf = files.read_text(mc_path), files.read_text(cf_path)
    old_parsed = cf.parse(old_cf) if old_cf else None
    result = {"kind": kind, "cf": cf_path, "mc": mc_path, "relay": relays.smart_host(relay_list)}
    result["dropped"] = []
    features = build_request.get("features")
    if kind == "server":
        # What the .mc about to be written keeps, its maps' entries included.
        result["access_text"] = flood.access_text(
            limits,
            build_request["relay_domains"],
            relay_features.access_lines(features, build_request["relay_domains"]),
        )
        new_keys = {key for key, _ in hand_made.constructs(mc_text)}
        new_maps = {name: features[name] for name in relay_maps.MAPS}
        new_maps["virtusertable"] = features["virtusertable"]
        new_maps["access_db"] = hand_made.entries_of(result["access_text"])
        result["dropped"] = hand_made.dropped(old_mc, new_keys, lookup["mc_ostype"], new_maps)
    if result["dropped"] and not build_request.get("replace_hand_made"):
        raise CommandExecutionError(
            f"refused, nothing changed: {mc_path} was not written by this package, and the server "
            f"role's would drop {'; '.join(result['dropped'])}. Give the pillar what the relay needs, "
            "or set sendmail:replace_hand_made: true to replace it"
        )
    result.update(mc_text=mc_text, cf_text=None, files={})
    help_file = platform.help_file(lookup) if kind == "server" else None
    old_help = files.read_text(help_file) if help_file else ""
    if old_help != "":
        result["files"][help_file] = {"old": _line_count(old_help), "new": "empty", "diff": ""}
    if kind == "server":
        # The access map (flood limits, the site's entries) and the site's maps: files of our
        # own, built by makemap at install.
        access_map = flood.access_map(lookup)
        old_access = files.read_text(access_map)
        if old_access != result["access_text"]:
            result["files"][access_map] = {
                "old": _line_count(old_access),
                "new": _line_count(result["access_text"]),
                "diff": diff(old_access, result["access_text"]),
            }
        result["maps"] = relay_maps.plan(lookup, features)
        for path, text in result["maps"].items():
            old_map = files.read_text(path)
            result["files"][path] = {
                "old": _line_count(old_map),
                "new": _line_count(text),
                "diff": diff(old_map, text),
            }
    if (
        old_mc == mc_text
        and old_parsed
        and not check_built(
            kind, old_parsed, relay_list, port, help_file, limits, hop_settings, masquerade_as, features
        )
    ):
        return result
    cf_text = run_m4(run, mc_text)
    new_parsed = cf.parse(cf_text)
    problems = check_built(
        kind, new_parsed, relay_list, port, help_file, limits, hop_settings, masquerade_as, features
    )
    if problems:
        raise CommandExecutionError(f"the built cf is wrong: {'; '.join(problems)}")
    result["cf_text"] = cf_text
    if old_mc != mc_text:
        result["files"][mc_path] = {
            "old": _line_count(old_mc),
            "new": _line_count(mc_text),
            "diff": diff(old_mc, mc_text),
        }
    if old_cf != cf_text:
        result["files"][cf_path] = {
            "old": _relay_summary(kind, old_parsed),
            "new": _relay_summary(kind, new_parsed),
            "diff": diff(old_cf, cf_text),
        }
    return result


def apply(build_request, lookup, run, test):
    """
    ``sendmail.build_cf``: :func:`plan`, then :func:`install` unless ``test``. Returns ``kind``,
    ``cf``, ``relay``, ``changed``, ``files`` and ``in_place``.
    """
    planned, in_place = steps.plan_then_write(
        f"could not build the {build_request['kind']} configuration",
        lambda: plan(build_request, lookup, run),
        lambda planned: planned["files"],
        lambda planned: install(planned, lookup, run),
        test,
    )
    return {
        "kind": build_request["kind"],
        "dropped": planned["dropped"] if planned["files"] else [],
        "cf": planned["cf"],
        "relay": planned["relay"] or None,
        "changed": bool(planned["files"]),
        "files": planned["files"],
        "in_place": in_place or [],
    }


def install(build_plan, lookup, run):
    """
    Build every planned map (the access map, the site's maps) and write the planned .mc and cf
    into temp files beside them, have sendmail load the cf; only then rename the maps, the .mc and
    the cf into place (the old texts kept as ``.bak``). A map makemap refuses, a cf sendmail
    refuses, a full disk: raised before any rename, every live file as it was. The .mc is renamed
    before the cf: a rename keeps a file's mtime, and a vendor's start script rebuilds a cf from an
    .mc that is newer (Red Hat's ExecStartPre=-/etc/mail/make, with plain m4). Returns the paths
    written in place (mount points of their own, see :func:`files.install`).
    """
    cf_path, mc_path = build_plan["cf"], build_plan["mc"]
    files.remove_stale_temps(cf_path, mc_path)
    maps = dict(build_plan.get("maps") or {})
    if flood.access_map(lookup) in build_plan["files"]:
        maps[flood.access_map(lookup)] = build_plan["access_text"]
    prepared, tmp_mc, tmp_cf, in_place = {}, None, None, []
    try:
        for path, text in maps.items():
            prepared[path] = hash_maps.prepare(lookup, run, path, text)
        if build_plan["cf_text"] is not None:
            tmp_mc = files.write_temp(mc_path, build_plan["mc_text"])
            tmp_cf = files.write_temp(cf_path, build_plan["cf_text"])
            validate(run, lookup["sendmail_bin"], tmp_cf, int(lookup["validate_timeout"]))
        help_file = platform.help_file(lookup)
        if build_plan["kind"] == "server" and help_file in build_plan["files"]:
            files.replace(help_file, "")  # what HELP reads: nothing (see mc.py)
        # The maps before the cf that names them.
        for path in list(prepared):
            hash_maps.commit(prepared.pop(path), path)
        if tmp_mc is not None:
            in_place += [mc_path] if files.install(tmp_mc, mc_path) else []
            tmp_mc = None
            in_place += [cf_path] if files.install(tmp_cf, cf_path) else []
            tmp_cf = None
    finally:
        files.discard(tmp_cf, tmp_mc, *(t for tmp in prepared.values() for t in (tmp, tmp + ".db")))
    return in_place


def run_m4(run, mc_text, timeout=60):
    """Build cf text from .mc text in memory; m4 exits 0 on cf.m4 errors, so stderr fails too."""
    try:
        ret = run(
            ["m4", "-D_NO_MAKEINFO_"],
            stdin=mc_text,
            python_shell=False,
            timeout=timeout,
            ignore_retcode=True,
            output_loglevel="quiet",
            rstrip=False,
        )
    except CommandExecutionError as err:
        raise CommandExecutionError(f"m4 could not run: {err}") from err
    if ret["retcode"] != 0 or ret["stderr"].strip():
        raise CommandExecutionError(
            f"m4 failed (exit {ret['retcode']}): {ret['stderr'].strip() or 'no output on stderr'}"
        )
    return ret["stdout"]


def validate(run, binary, cf_path, timeout=30):
    """``sendmail -C cf -bt``: 0 means sendmail loads it."""
    command = [binary, "-C", cf_path, "-bt"]
    errors.run_checked(run, command, "sendmail, loading the new cf,", timeout=timeout, stdin="")


def diff(old, new):
    """
    A unified diff without context lines, cut after ``DIFF_LINES`` lines: replacing a vendor's cf
    (~1,800 lines) changes hundreds, and the first ones (macros, options) are what an operator reads.
    """
    old, new = files.shown(old or ""), files.shown(new)  # as Salt's output can carry them
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), "old", "new", n=0
        )
    )
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... {len(lines) - DIFF_LINES} more diff lines\n"]
    return "".join(lines)


def _line_count(text):
    return None if text is None else f"{len(text.splitlines())} lines"


def _relay_summary(kind, parsed):
    if parsed is None:
        return None
    if kind == "msp":
        return f"relay {parsed['macros'].get('MTAHost')}"
    if kind == "server":
        listening = "listening" if parsed["all_options"].get("DaemonPortOptions") else "not listening"
        return f"{listening}, smart host {parsed['macros'].get('S') or 'none'}"
    return f"relay {parsed['macros'].get('S')}"
