"""
The previous configuration, for the role states' rollback: every file they write read before the
first step (:func:`saved`), and put back after a failed one (:func:`restore`). Secret files are
kept by inode and come back from their ``.bak``: no secret leaves :mod:`secret_files`.
"""

import base64

from salt.exceptions import SaltInvocationError

from . import dkim, errors, files, flood, local_mail, platform, relay_maps, secret_files, switches


def saved(lookup):
    """Every file the role states write: its text (None: no file), a credential file its inode."""
    texts = {path: files.read_text(path) for path in _managed(lookup)}
    texts.update({path: secret_files.fingerprint(path) for path in secret_files.managed(lookup)})
    return texts


def portable(saved):
    """
    :func:`saved` as ``sendmail.config_files`` returns it over Salt's wire: a text with bytes that
    are not UTF-8 (msgpack refuses them) as ``{"base64": ...}`` of its bytes, which
    :func:`restore` takes back byte for byte.
    """
    return {
        path: {"base64": base64.b64encode(text.encode(**files.ENCODING)).decode("ascii")}
        if isinstance(text, str) and files.shown(text) != text
        else text
        for path, text in saved.items()
    }


def _from_portable(text):
    if isinstance(text, dict) and set(text) == {"base64"}:
        return base64.b64decode(text["base64"]).decode(**files.ENCODING)
    return text


def restore(lookup, previous, run):
    """
    Put back ``previous`` (as :func:`saved` returns it): only files this package manages, only
    those that differ, in the package's order whatever the order of ``previous`` (.mc files
    before their cfs: a start script rebuilds a cf from a newer .mc). What can go back goes back:
    a path the lookup no longer names (its pillar changed since) is named, not a reason to put
    back nothing. Returns ``restored`` (the paths written) and ``not_restored`` (path: why).
    """
    if not isinstance(previous, dict):
        raise SaltInvocationError(f"files must map paths to their previous text, not {previous!r}")
    previous = {path: _from_portable(text) for path, text in previous.items()}
    managed = _managed(lookup)
    secret = secret_files.managed(lookup)
    not_restored = {
        path: "not a file this package manages (the lookup no longer names it)"
        for path in sorted(set(previous) - set(managed) - set(secret))
    }
    differing = {
        path: previous[path]
        for path in managed
        if path in previous and files.read_text(path) != previous[path]
    }
    with errors.os_errors("could not restore"):
        switches.write(lookup, differing, run)
        # Their maps too: sendmail reads the .db files, not the texts.
        local_mail.rebuild(lookup, list(differing), run)
        flood.rebuild(lookup, list(differing), run)
        relay_maps.rebuild(lookup, list(differing), run)
        put_back = [
            path for path in secret if path in previous and secret_files.put_back(path, previous[path])
        ]
    return {"restored": list(differing) + put_back, "not_restored": not_restored}


def _managed(lookup):
    """
    The .mc files, cfs and switch files (in that order), the aliases, the site's maps, OpenDKIM's
    configuration and tables (never its keys: a key made stays, unused).
    """
    ordered = platform.managed_files(lookup) + local_mail.managed(lookup) + [flood.access_map(lookup)]
    ordered += relay_maps.managed(lookup) + dkim.managed(lookup)
    return list(dict.fromkeys(ordered))
