"""
A relay's maps from the site's pillar: ``mailertable`` (a domain to ``mailer:[host]`` or an
error), ``genericstable`` (an outgoing ``user`` or ``user@host`` to an address, for the hosts of
``generics_domains``), ``domaintable`` (a domain to another) and ``virtusertable`` (an address or
``@domain`` to an address, ``%1@domain``, a local name or ``error:nouser User unknown``); and the site's
``access`` entries (``Connect:``, ``From:``, ``To:`` to ``OK``, ``RELAY``, ``REJECT``,
``DISCARD``, ``SKIP`` or ``ERROR:5.7.1:"550 text"``), which go into the relay's one access map beside
its flood limits (:mod:`flood`).

Each map is a file of ours beside sendmail.cf (``salt-mailertable``...), written whole and built
by makemap only when its text changed; its FEATURE line is in the .mc only while it has entries.
sendmail opens a hash map anew in each SMTP child and queue run, so a changed map is read without
a restart (measured: tests/functional/test_relay_maps.py). The virtusertable's entries share the
map of the site's aliases (:mod:`local_mail`): one virtusertable per relay.

Every key and value passes the checks below: a newline, tab, m4 quote, comment or macro character
is refused, naming the entry.
"""

import re

from salt.exceptions import SaltInvocationError

from . import allowlist, files, hash_maps, platform

# The maps the build writes: pillar key -> (FEATURE, file name beside sendmail.cf).
MAPS = {
    "mailertable": ("mailertable", "salt-mailertable"),
    "genericstable": ("genericstable", "salt-genericstable"),
    "domaintable": ("domaintable", "salt-domaintable"),
}
ACCESS_TAGS = ("Connect", "From", "To")
ACCESS_ACTIONS = ("OK", "RELAY", "REJECT", "DISCARD", "SKIP")
MAILERS = ("esmtp", "smtp", "relay", "smtp8", "dsmtp")
# What no key or value may hold: line and field breaks, m4's quotes, cf comments and macros.
_SPECIAL = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\t": "a tab",
    "`": "an m4 quote (`)",
    "'": "an m4 quote (')",
    "#": "a comment character (#)",
    "$": "a macro character ($)",
}
_LOCAL = r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}"
_ERROR_TEXT = re.compile(r"(?:[245]\.\d{1,3}\.\d{1,3}:)?[245]\d\d [A-Za-z0-9 .,:;()/@_+=!?-]{1,200}")
_TEXT = re.compile(r"[A-Za-z0-9 .,:;()/@_+=!?-]{1,200}")


def plain(value, field):
    """``value`` as text without :data:`_SPECIAL` characters; the error names the one found."""
    if not isinstance(value, str) or not value:
        raise SaltInvocationError(f"{field}: expected text, got {value!r}")
    for char, name in _SPECIAL.items():
        if char in value:
            raise SaltInvocationError(f"{field}: {value!r} holds {name}, which is refused")
    return value


def _domain(value, field, dotted=False):
    name = value[1:] if dotted and value.startswith(".") else value
    problem = allowlist.hostname_problem(name)
    if problem:
        raise SaltInvocationError(f"{field}: {value!r} {problem}")
    return value


def _address(value, field, catch_all=False):
    """``user@domain``, a local ``user`` or (``catch_all``) ``@domain``."""
    local, at, domain = value.partition("@")
    if catch_all and not local and at:
        return _domain(domain, field) and value
    if not re.fullmatch(_LOCAL, local) or (at and allowlist.hostname_problem(domain)):
        raise SaltInvocationError(f"{field}: {value!r} is not an address such as ops@example.com")
    return value


def error_value(value, field):
    """
    A refusal as sendmail's maps write it: ``error:nouser User unknown``, ``error:5.1.1:550 text``
    or ``error:550 text`` (sendmail needs the text: a bare ``error:nouser`` gives a 553 of garbage).
    """
    rest = value[len("error:") :]
    word, _, text = rest.partition(" ")
    if (word in ("nouser", "nohost", "unavailable", "tempfail") and _TEXT.fullmatch(text)) or (
        _ERROR_TEXT.fullmatch(rest)
    ):
        return value
    raise SaltInvocationError(
        f"{field}: {value!r} is not error:nouser TEXT or error:5.1.1:550 TEXT (code, then reply)"
    )


def _mailertable(key, value, field):
    _domain(key, field, dotted=True)
    if value.startswith("error:"):
        return error_value(value, field)
    mailer, _, host = value.partition(":")
    if mailer not in MAILERS or not host:
        raise SaltInvocationError(
            f"{field}: {value!r} is not mailer:[host] ({', '.join(MAILERS)}) or error:..."
        )
    allowlist.relay(host, field)
    return value


def _virtusertable(key, value, field):
    _address(key, field, catch_all=True)
    if value.startswith("error:"):
        return error_value(value, field)
    if value.startswith("%1@"):
        return _domain(value[3:], field) and value
    return _address(value, field)


def _genericstable(key, value, field):
    _address(key, field)
    return _address(value, field)


def _domaintable(key, value, field):
    _domain(key, field)
    return _domain(value, field)


CHECKS = {
    "mailertable": _mailertable,
    "virtusertable": _virtusertable,
    "genericstable": _genericstable,
    "domaintable": _domaintable,
}


def entries(value, name, field):
    """A map's ``{key: value}`` from pillar, each checked by :data:`CHECKS`; {} for none."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SaltInvocationError(f"{field}: expected a mapping of keys to values, got {value!r}")
    checked = {}
    for key, target in value.items():
        where = f"{field}:{key}"
        plain(key, where) and plain(target, where)
        if " " in key:
            raise SaltInvocationError(f"{where}: a key holds no space")
        checked[key] = CHECKS[name](key, target, where)
    return checked


def access_key(key, field):
    """``Tag:value`` of an access entry: an IPv4 prefix, an IPv6 network, a domain or an address."""
    tag, _, what = key.partition(":")
    if tag not in ACCESS_TAGS or not what:
        raise SaltInvocationError(f"{field}: {key!r} is not Connect:, From: or To: and a value")
    if what.lower().startswith("ipv6:"):
        allowlist.ipv6_network(what, field)
    elif "@" in what:
        _address(what.rstrip("@"), field, catch_all=True) if not what.endswith("@") else None
    elif not all(part.isdigit() for part in what.split(".")):
        _domain(what, field)
    elif any(int(part) > 255 for part in what.split(".")) or len(what.split(".")) > 4:
        raise SaltInvocationError(f"{field}: {key!r} is not an IPv4 address or prefix")
    return key


def access_value(value, field):
    """An access entry's action: :data:`ACCESS_ACTIONS` or ``ERROR:5.7.1:"550 text"`` (DSN optional)."""
    if value in ACCESS_ACTIONS:
        return value
    match = re.fullmatch(r'ERROR:(?:[245]\.\d{1,3}\.\d{1,3}:)?"([245]\d\d [^"]*)"', value)
    if match and _ERROR_TEXT.fullmatch(match.group(1)):
        return value
    raise SaltInvocationError(
        f'{field}: {value!r} is not {", ".join(ACCESS_ACTIONS)}, ERROR:"550 text" or '
        'ERROR:5.7.1:"550 text"'
    )


def access(value, field="access"):
    """The site's access entries: ``{Tag:value: action}``, each checked."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SaltInvocationError(f"{field}: expected a mapping of entries to actions, got {value!r}")
    for key, action in value.items():
        where = f"{field}:{key}"
        plain(key, where) and plain(action, where)
        access_key(key, where)
        access_value(action, where)
    return dict(value)


def map_path(lookup, name):
    """The map of ``name`` (without ``.db``), beside sendmail.cf."""
    return platform.beside_cf(lookup, None, MAPS[name][1])


def texts(maps):
    """Each map's source text (``key<TAB>value`` lines, sorted) for the checked ``maps``."""
    return {
        name: "".join(f"{key}\t{value}\n" for key, value in sorted((maps.get(name) or {}).items()))
        for name in MAPS
    }


def mc_lines(lookup, maps, generics_domains):
    """The FEATURE lines of the maps that hold entries (and the genericstable's domains)."""
    lines = []
    for name, (feature, _) in MAPS.items():
        if maps.get(name):
            path = allowlist.path(map_path(lookup, name), f"the {name} map")
            lines.append(f"FEATURE(`{feature}', `hash -o {path}')dnl")
    if maps.get("genericstable"):
        lines.extend(f"GENERICS_DOMAIN(`{domain}')dnl" for domain in generics_domains)
    return lines


def plan(lookup, maps):
    """The maps whose text changes: ``{path: text}`` (an emptied map is written empty)."""
    changed = {}
    for name, text in texts(maps).items():
        path = map_path(lookup, name)
        old = files.read_text(path)
        if (old or "") != text and (text or old is not None):
            changed[path] = text
    return changed


def managed(lookup):
    """The map sources the build writes (rollback puts them back and rebuilds their maps)."""
    return [map_path(lookup, name) for name in MAPS]


def rebuild(lookup, paths, run):
    """After a restore: each map of ``paths`` again from its source, or gone with it."""
    for path in managed(lookup):
        if path in paths:
            text = files.read_text(path)
            if text is None:
                files.discard(path + ".db")
            else:
                hash_maps.build(lookup, run, path, text)


def in_cf(cf_text):
    """
    The maps a cf reads (``Kname hash -o /path.db``) with their entry counts (the lines of their
    source beside them; None when it cannot be read): what ``sendmail.status`` reports.
    """
    found = {}
    for line in (cf_text or "").splitlines():
        match = re.match(r"K(\w+)\s+(?:hash|btree|dbm)\b.*?\s(/\S+)\s*$", line)
        if not match:
            continue
        name, path = match.groups()
        source = files.read_text(path[:-3] if path.endswith(".db") else path)
        count = None
        if source is not None:
            count = len([x for x in source.splitlines() if x.strip() and not x.startswith("#")])
        found[name] = {"path": path, "entries": count}
    return found
