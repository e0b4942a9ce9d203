"""
The files that carry the hop's secrets (settings checked by :mod:`hop`): a certificate, key or CA
given as PEM text in pillar, written root 0644 (the key 0600), and a client's authinfo map, built
by ``makemap`` from stdin so that no text copy of the password ever exists. The map is owned by
root with group smmsp and mode 0640: the MSP (submit.cf) runs as smmsp and must read it; sendmail's
cf/README asks for exactly that. Every summary is masked: no secret leaves this module.

Previous versions are kept as ``.bak`` hard links (same inode, owner and mode); a state that fails
later puts them back by inode (:func:`fingerprint`, :func:`put_back`), so nothing secret is ever
carried in Salt's data.

``run`` is Salt's ``cmd.run_all`` (passed in: this module has no dunders).
"""

import base64
import contextlib
import grp
import os
import stat

from salt.exceptions import CommandExecutionError

from . import allowlist, files, hash_maps, steps, tls_auth

MASK = "********"
MAP_MODE, KEY_MODE, CERT_MODE = 0o640, 0o600, 0o644


def managed(lookup):
    """Every file this module may write or remove: the PEM files in tls_dir and the map's .db."""
    directory = tls_auth.tls_dir(lookup)
    return [os.path.join(directory, name) for name in tls_auth.PEM_FILES.values()] + [
        tls_auth.authinfo_map(lookup) + ".db"
    ]


def authinfo_text(auth):
    """The map's one entry (the default ``AuthInfo:`` key: a client talks only to its relays)."""
    password = base64.b64encode(auth["password"].encode()).decode()
    fields = [f'"U:{auth["user"]}"', f'"I:{auth["user"]}"', f'"P={password}"']
    # Without M: sendmail would offer only its AuthMechanisms default (GSSAPI KERBEROS_V4
    # DIGEST-MD5 CRAM-MD5): no login at all with a relay that has PLAIN and LOGIN (measured).
    fields.append(f'"M:{" ".join(auth["mechanisms"] or tls_auth.CLIENT_MECHANISMS)}"')
    # makemap folds keys to lower case (sendmail looks them up folded too).
    return "authinfo:\t" + " ".join(fields) + "\n"


def wanted(role, settings, lookup, msp_group="smmsp"):
    """
    Each managed file's wanted content for ``role`` and ``settings``: ``{path: spec or None}``,
    a spec being ``text``, ``mode``, ``gid``, ``what`` (a masked description) and ``map``.
    """
    result = dict.fromkeys(managed(lookup))
    server = role == "server"
    for name, spec in (settings["tls"] or {}).items():
        if name == "require" or not spec or not spec["pem"]:
            continue
        what = {"cert": "certificate", "key": "private key", "ca": "CA certificate"}[name]
        result[spec["path"]] = {
            "text": spec["pem"],
            "mode": KEY_MODE if name == "key" else CERT_MODE,
            "gid": 0,
            "what": f"{what} from pillar, {len(spec['pem'].splitlines())} lines",
            "map": False,
        }
    auth = settings["auth"]
    if auth and not server:
        result[auth["map"] + ".db"] = {
            "text": authinfo_text(auth),
            "mode": MAP_MODE,
            "gid": grp.getgrnam(msp_group).gr_gid,
            "what": f"authinfo for user {auth['user']}, password {MASK}",
            "user": auth["user"],
            "map": True,
        }
    return result


def _current(path, spec, run, makemap):
    """The file's content as comparable text (a map: makemap's dump) with mode and owner, or None."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    is_map = path.endswith(".db") if spec is None else spec["map"]
    if is_map:
        ret = run(
            [makemap, "-u", "hash", path[: -len(".db")]],
            python_shell=False,
            ignore_retcode=True,
            output_loglevel="quiet",
            timeout=30,
        )
        text = ret["stdout"] + "\n" if ret["retcode"] == 0 else None
    else:
        text = files.read_text(path)
    return {"text": text, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}


def _summary(current, spec):
    if current is None:
        return None
    if spec and spec["map"] and current["text"]:
        user = current["text"].split('"U:', 1)[-1].split('"', 1)[0]
        return f"authinfo for user {user}, password {MASK}"
    return f"{current['mode']:04o} uid {current['uid']} gid {current['gid']}"


def apply(role, tls, auth, lookup, run, test):
    """``sendmail.credentials``: values checked, :func:`plan`, then :func:`install` unless ``test``."""
    allowlist.role(role)
    settings = tls_auth.request("server" if role == "server" else "msp", lookup, tls, auth)
    planned, _ = steps.plan_then_write(
        "could not write the hop's credentials",
        lambda: plan(role, settings, lookup, run),
        lambda planned: planned["writes"],
        lambda planned: install(planned["writes"], lookup, run),
        test,
    )
    return {"changed": bool(planned["files"]), "files": planned["files"]}


def plan(role, settings, lookup, run):
    """
    What bringing the managed files to ``settings`` changes: ``files`` (path: masked ``old`` and
    ``new``) and ``writes`` (path: spec, or None to remove; secrets inside: never returned).
    """
    makemap = lookup["makemap_bin"]
    result = {"files": {}, "writes": {}}
    for path, spec in wanted(role, settings, lookup, lookup["msp_group"]).items():
        current = _current(path, spec, run, makemap)
        if spec is None:
            if current is not None:
                result["files"][path] = {"old": _summary(current, None), "new": None}
                result["writes"][path] = None
            continue
        have = current and (current["text"], current["mode"], current["uid"], current["gid"])
        if have == (spec["text"], spec["mode"], 0, spec["gid"]):
            continue
        new = spec["what"]
        if spec["map"] and current and current["text"] and f'"U:{spec["user"]}"' in current["text"]:
            new += " (password changed)" if current["text"] != spec["text"] else " (owner or mode fixed)"
        result["files"][path] = {"old": _summary(current, spec), "new": new}
        result["writes"][path] = spec
    return result


def install(writes, lookup, run):
    """
    Write (or remove) each planned file, the old one kept as ``.bak``. A map is built by makemap in
    a private 0700 directory beside it, then given its owner and mode, then renamed into place:
    no other user ever sees it. On a failure the files already replaced are put back.
    """
    done = []
    try:
        for path, spec in writes.items():
            saved = fingerprint(path)
            if spec is None:
                files.remove_keeping_backup(path)
            elif spec["map"]:
                hash_maps.build(
                    lookup, run, path.removesuffix(".db"), spec["text"], spec["gid"], spec["mode"], True
                )
            else:
                files.replace_private(path, spec["text"], spec["mode"], 0, spec["gid"])
            done.append((path, saved))
    except (OSError, CommandExecutionError) as err:
        for path, saved in reversed(done):
            with contextlib.suppress(OSError):
                put_back(path, saved)
        raise CommandExecutionError(
            f"could not write {path}: {err} (the previous files are back)"
        ) from err


def fingerprint(path):
    """Which file is at ``path`` (``inode N``; None for none), without reading it."""
    try:
        return f"inode {os.stat(path).st_ino}"
    except FileNotFoundError:
        return None


def put_back(path, saved):
    """Bring back the file :func:`fingerprint` saw (its ``.bak`` link, or no file); True if changed."""
    if fingerprint(path) == saved:
        return False
    if saved is None:
        files.replace(path, None)
        return True
    if fingerprint(path + ".bak") != saved:
        raise OSError(f"{path}: the previous version is gone (no {path}.bak)")
    files.restore_backup(path)
    return True
