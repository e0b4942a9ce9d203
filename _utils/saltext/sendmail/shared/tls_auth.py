"""
STARTTLS and SMTP AUTH on the hop between a site's clients and its relays (the pillar's
``sendmail:sites:SITE:tls`` and ``...:auth``): the values checked, where the files they name or
carry live, and the .mc lines of each kind of build. Secrets never reach an .mc or cf: a key or a
certificate given as PEM text and the client's password go into files of their own
(:mod:`secret_files`); the .mc names only their paths.
"""

import os
import stat

from salt.exceptions import SaltInvocationError

from . import allowlist, platform, relays

# What a client may use with its relay (the authinfo map's M: field).
CLIENT_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256")
# What a server offers, only after STARTTLS: AuthOptions "p" withholds exactly the mechanisms open
# to a passive attack (these two) until a security layer is on; any other would be offered in
# plaintext sessions as well.
SERVER_MECHANISMS = ("PLAIN", "LOGIN")
TLS_KEYS = ("cert", "key", "ca", "require")
AUTH_KEYS = ("user", "password", "mechanisms")
# The files written from PEM text in pillar, in the lookup's tls_dir.
PEM_FILES = {"cert": "salt-relay.crt", "key": "salt-relay.key", "ca": "salt-ca.crt"}
PEM_MARK = "-----BEGIN "


def tls_dir(lookup):
    """Where PEM text from pillar is written: ``tls_dir`` in the lookup, else tls/ beside sendmail.cf."""
    return platform.beside_cf(lookup, "tls_dir", "tls")


def authinfo_map(lookup):
    """The authinfo map (no ``.db``): ``authinfo_map``, else salt-authinfo beside sendmail.cf."""
    return platform.beside_cf(lookup, "authinfo_map", "salt-authinfo")


def _mapping(value, keys, field):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SaltInvocationError(
            f"{field}: expected a mapping of {', '.join(keys)}, got a {type(value).__name__}"
        )
    unknown = sorted(map(str, set(value) - set(keys)))
    if unknown:
        raise SaltInvocationError(
            f"{field}: unknown key {', '.join(unknown)} (known: {', '.join(keys)})"
        )
    return value


def _pem(value, name, field, lookup):
    """A certificate, key or CA: a path that exists, or PEM text (then the path it is written to)."""
    if not isinstance(value, str) or not value.strip():
        raise SaltInvocationError(f"{field}:{name}: expected a path or PEM text")
    if value.lstrip().startswith(PEM_MARK):
        if "-----END " not in value:
            raise SaltInvocationError(f"{field}:{name}: PEM text without its -----END line")
        path = allowlist.path(os.path.join(tls_dir(lookup), PEM_FILES[name]), "sendmail:lookup:tls_dir")
        return {"path": path, "pem": value.strip() + "\n"}
    path = allowlist.path(value, f"{field}:{name}")
    try:
        st = os.stat(path)
    except OSError as err:
        raise SaltInvocationError(f"{field}:{name}: {path} cannot be read ({err.strerror})") from err
    if not stat.S_ISREG(st.st_mode):
        raise SaltInvocationError(f"{field}:{name}: {path} is not a file")
    if name == "key" and st.st_mode & 0o077:
        raise SaltInvocationError(
            f"{field}:{name}: {path} is readable by others (mode {stat.S_IMODE(st.st_mode):04o}): "
            "sendmail refuses such a key; make it 0600"
        )
    return {"path": path, "pem": None}


def _mechanisms(value, allowed, field):
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not value:
        raise SaltInvocationError(f"{field}: expected a list of mechanisms, got {value!r}")
    for mechanism in value:
        allowlist.one_of(mechanism, allowed, field)
    return list(dict.fromkeys(value))


def _require(value, field):
    if not isinstance(value, bool):
        raise SaltInvocationError(f"{field}: expected true or false, got {value!r}")
    return value


def _secret_text(value, field):
    if not isinstance(value, str) or not value:
        raise SaltInvocationError(f"{field}: expected a non-empty string")
    if any(char in value for char in "\n\r\0"):
        # Said without the value: it may be the password.
        raise SaltInvocationError(f"{field}: contains a newline or NUL character")
    return value


def request(kind, lookup, tls=None, auth=None, field="sendmail:sites:SITE"):
    """
    The hop settings a build of ``kind`` uses, checked: ``{"tls": ..., "auth": ...}`` (each None
    when not set). A server needs ``tls:cert`` and ``tls:key``, and ``auth`` only with them; a
    client's ``auth`` needs ``user`` and ``password``. Keys meant for the other role are ignored
    (a site's pillar serves both). Errors name the key and never show a password.
    """
    tls = _mapping(tls, TLS_KEYS, f"{field}:tls")
    auth = _mapping(auth, AUTH_KEYS, f"{field}:auth")
    server = kind == "server"
    settings = {"tls": None, "auth": None}
    if tls:
        wanted = ("cert", "key", "ca") if server else ("ca",)
        if server:
            missing = [name for name in ("cert", "key") if not tls.get(name)]
            if missing:
                raise SaltInvocationError(f"{field}:tls: a server needs {' and '.join(missing)}")
        settings["tls"] = {
            name: _pem(tls[name], name, f"{field}:tls", lookup) if tls.get(name) else None
            for name in wanted
        }
        settings["tls"]["require"] = _require(tls.get("require", False), f"{field}:tls:require")
    if auth:
        if server:
            if not settings["tls"]:
                raise SaltInvocationError(
                    f"{field}:auth: a server offers AUTH only after STARTTLS: set tls:cert and tls:key"
                )
            mechanisms = auth.get("mechanisms", list(SERVER_MECHANISMS))
            settings["auth"] = {
                "mechanisms": _mechanisms(mechanisms, SERVER_MECHANISMS, f"{field}:auth:mechanisms")
            }
        else:
            user = _secret_text(auth.get("user"), f"{field}:auth:user")
            if any(char in user for char in ' "'):
                raise SaltInvocationError(f"{field}:auth:user: {user!r} contains a space or a quote")
            settings["auth"] = {
                "user": user,
                "password": _secret_text(auth.get("password"), f"{field}:auth:password"),
                "mechanisms": _mechanisms(
                    auth["mechanisms"], CLIENT_MECHANISMS, f"{field}:auth:mechanisms"
                )
                if auth.get("mechanisms")
                else [],
                "map": allowlist.path(authinfo_map(lookup), "sendmail:lookup:authinfo_map"),
            }
    return settings


def _ca_lines(ca):
    """
    What the peer's certificate is verified against. sendmail starts no STARTTLS at all without
    CACertPath (measured: no STARTTLS in EHLO with only the cert, key and CACertFile), so the
    directory of the file is named as well.
    """
    return [
        f"define(`confCACERT_PATH', `{os.path.dirname(ca['path'])}')dnl",
        f"define(`confCACERT', `{ca['path']}')dnl",
    ]


def mc_lines(kind, settings, relay_domains=()):
    """
    The .mc lines of the hop ``settings`` (:func:`request`) for a build of ``kind``. A server
    without AUTH offers none (sendmail's default list would offer DIGEST-MD5 and CRAM-MD5, in
    plaintext sessions too). ``LOCAL_RULESETS`` lines (a server's STARTTLS requirement) come last.
    """
    tls, auth = settings["tls"], settings["auth"]
    lines, rulesets = [], []
    if kind == "server":
        if tls:
            lines.append(f"define(`confSERVER_CERT', `{tls['cert']['path']}')dnl")
            lines.append(f"define(`confSERVER_KEY', `{tls['key']['path']}')dnl")
            lines.extend(_ca_lines(tls["ca"] or tls["cert"]))
        mechanisms = " ".join(auth["mechanisms"]) if auth else ""
        lines.append(f"define(`confAUTH_MECHANISMS', `{mechanisms}')dnl")
        if auth:
            lines.append(f"TRUST_AUTH_MECH(`{mechanisms}')dnl")
            # p: PLAIN and LOGIN only inside STARTTLS; y: no anonymous AUTH; A: AUTH= on MAIL
            # only when authenticated.
            lines.append("define(`confAUTH_OPTIONS', `A,p,y')dnl")
        # IPv4 prefixes and IPv6 networks: sendmail splits both into tokens at "." and ":".
        networks = relays.site_networks(relay_domains)
        if tls and tls["require"] and networks:
            # Hosts of the site's networks get a temporary refusal at MAIL until they STARTTLS:
            # their mail waits in their queue, nothing bounces. (Local_check_mail only refuses.)
            rulesets = [
                "LOCAL_RULESETS",
                "SLocal_check_mail",
                "R$*\t$: $&{client_addr} $| $&{tls_version}",
            ]
            rulesets.extend(
                f'R{network} $* $|\t$#error $@ 4.7.0 $: "451 STARTTLS is required from this network"'
                for network in networks
            )
    elif tls or auth:
        if tls and tls["ca"]:
            lines.extend(_ca_lines(tls["ca"]))
        if auth:
            lines.append(f"FEATURE(`authinfo', `hash -o {auth['map']}')dnl")
            # p: the password is never sent with PLAIN or LOGIN outside STARTTLS.
            lines.append("define(`confAUTH_OPTIONS', `p')dnl")
            # A relay that refuses the login (a wrong password, an unreadable map) would otherwise
            # get the message unauthenticated and answer "relaying denied": a bounce. Checked per
            # recipient before RCPT, a temporary error keeps it queued instead.
            refusal = '$#error $@ 4.7.0 $: "450 no AUTH with the relay: login refused or no authinfo"'
            rulesets += ["LOCAL_TLS_RCPT", "R$*\t$: $&{auth_type}", "R$+\t$@ OK", f"R$*\t{refusal}"]
        if tls and tls["require"]:
            # The hop to the relay only over STARTTLS (and, with a CA, to a certificate it verifies):
            # otherwise a temporary error, and the message waits in the queue.
            if tls["ca"]:
                refusal = '$#error $@ 4.7.0 $: "450 the relay certificate does not verify: " $&{verify}'
                checked = ["ROK\t$@ OK", f"R$*\t{refusal}"]
            else:
                checked = [
                    f'R{state}\t$#error $@ 4.7.0 $: "450 no STARTTLS with the relay: {state}"'
                    for state in ("NONE", "SOFTWARE", "TEMP", "PROTOCOL")
                ]
            rulesets += ["LOCAL_TLS_SERVER", "R$*\t$: $&{verify}", *checked]
    return lines, rulesets


def read_back(kind, options, hop):
    """How a built cf's STARTTLS and AUTH ``options`` differ from the ``hop`` settings asked for."""
    wanted = {}
    if kind == "server":
        wanted["AuthMechanisms"] = " ".join(hop["auth"]["mechanisms"]) if hop["auth"] else ""
        if hop["tls"]:
            wanted.update(
                ServerCertFile=hop["tls"]["cert"]["path"], ServerKeyFile=hop["tls"]["key"]["path"]
            )
    elif hop["tls"] and hop["tls"]["ca"]:
        wanted["CACertFile"] = hop["tls"]["ca"]["path"]
    return [
        f"{option} is {options.get(option)!r}, not {value!r}"
        for option, value in wanted.items()
        if options.get(option) != value
    ]
