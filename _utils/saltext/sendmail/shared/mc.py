"""
The .mc text of each kind of configuration a role installs: ``msp`` (submit.mc of a client,
FEATURE(msp)), ``nullclient`` (a sendmail.mc that sends everything to the relay) and ``server`` (a
listening, hardened sendmail.mc). Values must already have passed :mod:`allowlist`.
"""

from . import (
    allowlist,
    flood,
    limits_table,
    local_mail,
    platform,
    relay_features,
    relay_options,
    relays,
    tls_auth,
)

# Hardened defaults of the server role (DISA STIG GEN004660/GEN004680: no EXPN/VRFY, GEN004560: no
# version in the greeting, GEN004440: LogLevel 9); restrictqrun keeps users from running the queue.
# Nothing an outsider can ask shows the version: HELP reads an empty help file (``help_file``,
# installed by the build: with none, or /dev/null, which is no regular file, sendmail answers
# "Sendmail 8.x -- HELP not implemented"), and the Received: header is cf.m4's default without
# "($v/$Z)".
SERVER_HARDENING = (
    "define(`confPRIVACY_FLAGS', `goaway,noetrn,restrictqrun')dnl",
    "define(`confSMTP_LOGIN_MSG', `$j MTA ready; $b')dnl",
    "define(`confLOG_LEVEL', `9')dnl",
    "define(`confRECEIVED_HEADER', `$?sfrom $s $.$?_($?s$|from $.$_) "
    "$.$?{auth_type}(authenticated$?{auth_ssf} bits=${auth_ssf}$.) "
    "$.by $j$?r with $r$. id $i$?{tls_version} "
    "(version=${tls_version} cipher=${cipher} bits=${cipher_bits} verify=${verify})$.$?u "
    "for $u; $|; $.$b')dnl",
)


def render(
    kind,
    relay_list,
    port=None,
    cf_m4=platform.DEFAULT_CF_M4,
    ostype=None,
    domain=None,
    queue_dir=None,
    pid_file=None,
    relay_domains=(),
    help_file=None,
    limits=None,
    hop_settings=None,
    masquerade_as=None,
    virtuser_map=None,
    aliases_file=None,
    access_map=None,
    features=None,
    lookup=None,
):
    """
    The .mc text for ``kind``, relaying to ``relay_list`` (a server's optional smart host).
    ``queue_dir`` and ``pid_file`` override what the vendor's DOMAIN() sets; ``relay_domains``
    (server) are the domains and networks it relays for; ``help_file`` (server) is what HELP reads;
    ``limits`` (server) are :data:`limits_table.SERVER_DEFAULTS`; ``hop_settings`` the STARTTLS and
    AUTH settings (:func:`tls_auth.request`). With ``masquerade_as``, the host's mail (a client's, or a
    server's own) leaves from that domain, and a server takes ``NAME@domain`` for the names in
    its ``virtuser_map`` (the site's aliases) and relays the domain's other users on. A server
    with an ``access_map`` limits each outside client (:mod:`flood`). Any kind's ``limits`` may set
    :data:`limits_table.QUEUE` (sendmail durations). A server's ``features`` (checked by
    :func:`relay_features.check`) add its maps (beside ``lookup``'s sendmail.cf), milters,
    blocklists, listeners and settings.
    """
    hop_lines, rulesets = tls_auth.mc_lines(
        kind, hop_settings or {"tls": None, "auth": None}, relay_domains
    )
    allowlist.build_kind(kind)
    lines = [
        "divert(-1)dnl",
        f"# Managed by Salt (saltext-sendmail): {kind} configuration. Local edits are replaced.",
        "divert(0)dnl",
        f"include(`{cf_m4}')dnl",
        # Defense in depth: no value can run a command even if it got past the allowlist.
        "undefine(`esyscmd')undefine(`syscmd')dnl",
    ]
    if ostype:
        lines.append(f"OSTYPE(`{ostype}')dnl")
    if domain:
        lines.append(f"DOMAIN(`{domain}')dnl")
    # After DOMAIN, which sets the vendor's own paths.
    if queue_dir:
        macro = "MSP_QUEUE_DIR" if kind == "msp" else "QUEUE_DIR"
        lines.append(f"define(`{macro}', `{queue_dir}')dnl")
    if pid_file:
        lines.append(f"define(`confPID_FILE', `{pid_file}')dnl")
    for name, (macro, _, _) in limits_table.cf_options(limits_table.QUEUE).items():
        if (limits or {}).get(name):
            lines.append(f"define(`{macro}', `{limits[name]}')dnl")
    if aliases_file and kind == "server":
        lines.append(f"define(`ALIAS_FILE', `{aliases_file}')dnl")
    if port and relay_list:
        lines.append(f"define(`RELAY_MAILER_ARGS', `TCP $h {port}')dnl")
        if kind != "msp":
            lines.append(f"define(`ESMTP_MAILER_ARGS', `TCP $h {port}')dnl")
    if kind != "server":
        lines.extend(hop_lines)
    if masquerade_as and kind == "msp":
        # Before FEATURE(msp): a bare "root" must leave as root@DOMAIN, never root@this-host.
        lines.append(f"MASQUERADE_AS(`{masquerade_as}')dnl")
        lines.extend(f"FEATURE(`{name}')dnl" for name in ("masquerade_envelope", "allmasquerade"))
    if kind == "msp":
        lines.append(f"FEATURE(`msp', `{relays.host_list(relay_list)}')dnl")
    elif kind == "nullclient":
        lines.append(f"FEATURE(`nullclient', `{relays.smart_host(relay_list)}')dnl")
        if masquerade_as:
            # After it: nullclient.m4 masquerades as the hub itself (and envelope, all headers).
            lines.append(f"MASQUERADE_AS(`{masquerade_as}')dnl")
    else:
        features = features or relay_features.check({})
        lines.extend(_hardening(features["privacy_flags"]))
        lines.extend(hop_lines)
        if help_file:
            lines.append(f"define(`HELP_FILE', `{help_file}')dnl")
        for name, (macro, _, unit) in limits_table.cf_options(limits_table.SERVER).items():
            if (limits or {}).get(name):
                lines.append(f"define(`{macro}', `{limits[name]}{unit}')dnl")
        if relay_list:
            lines.append(f"define(`SMART_HOST', `{relays.smart_host(relay_list)}')dnl")
        lines.append("FEATURE(`no_default_msa')dnl")
        if access_map:
            lines.extend(flood.mc_lines(limits, access_map))
        site_lines = relay_features.mc_lines(lookup or platform.DEFAULTS, features)
        if masquerade_as:
            lines.append(f"MASQUERADE_AS(`{masquerade_as}')dnl")
            lines.append("FEATURE(`masquerade_envelope')dnl")
            lines.append(f"VIRTUSER_DOMAIN(`{masquerade_as}')dnl")
            site_lines = [line for line in site_lines if line not in lines]
        if masquerade_as or features["virtusertable"]:
            # -o: a missing map is no error (no alias of the domain yet).
            lines.append(f"FEATURE(`virtusertable', `hash -o {virtuser_map}')dnl")
        lines.extend(site_lines)
        lines.extend(relay_options.daemon_lines(features["listen"]))
        # The IPv6 networks relay through the access map (Connect:IPv6:... RELAY, flood.py).
        lines.extend(
            f"RELAY_DOMAIN(`{name}')dnl" for name in relay_domains or () if name[:5].lower() != "ipv6:"
        )
        lines.append("MAILER(`local')dnl")
        lines.append("MAILER(`smtp')dnl")
    lines.extend(rulesets)
    return "\n".join(lines) + "\n"


def _hardening(added_flags):
    """:data:`SERVER_HARDENING` with the site's ``privacy_flags`` after the role's own."""
    if not added_flags:
        return SERVER_HARDENING
    flags = ",".join(("goaway", "noetrn", "restrictqrun", *added_flags))
    return (f"define(`confPRIVACY_FLAGS', `{flags}')dnl", *SERVER_HARDENING[1:])


def for_host(request, lookup):
    """
    :func:`render` for a checked build ``request`` (see :func:`build.request`) with this host's
    cf.m4, OSTYPE, DOMAIN and, where the lookup sets them, queue directory and pid file.
    """
    kind = request["kind"]
    side = "msp" if kind == "msp" else "mta"
    overrides = {
        name: allowlist.path(lookup[key], f"sendmail:lookup:{key}")
        for name, key in (
            ("queue_dir", f"{side}_queue_dir"),
            ("pid_file", f"{side}_pid_file"),
            ("aliases_file", "aliases_file"),
        )
        if lookup.get(key)
    }
    return render(
        kind,
        request["relays"],
        request["port"],
        cf_m4=allowlist.path(lookup["cf_m4"], "sendmail:lookup:cf_m4"),
        ostype=lookup["mc_ostype"],
        domain=lookup[f"{side}_domain"],
        relay_domains=request["relay_domains"],
        limits=request["limits"],
        hop_settings=request["hop"],
        masquerade_as=request.get("masquerade_as"),
        features=request.get("features"),
        lookup=lookup,
        virtuser_map=allowlist.path(local_mail.virtuser_map(lookup), "sendmail:lookup:virtuser_map"),
        access_map=allowlist.path(flood.access_map(lookup), "sendmail:lookup:access_map")
        if kind == "server"
        else None,
        help_file=allowlist.path(platform.help_file(lookup), "sendmail:lookup:help_file")
        if kind == "server"
        else None,
        **overrides,
    )
