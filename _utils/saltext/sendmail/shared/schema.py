"""
Every key of the ``sendmail`` pillar (and minion config) and of the ``sendmail`` beacon's settings,
in one place: its type and allowed values. :func:`problems` reads a configuration against it and
names each unknown key with the closest known one, so a typo fails loudly instead of applying a
default. pillar.example and the docs' pillar reference are checked against :data:`PILLAR` by a test.

Values that reach an .mc (relays, domains, paths) are checked again, more strictly, by the
allowlist (:mod:`allowlist`) when a role is built; here each key gets the check of its own kind.
"""

import difflib

import salt.utils.beacons
from salt.exceptions import SaltInvocationError

from . import (
    allowlist,
    dkim,
    dns_records,
    findings,
    limits_table,
    milters,
    platform,
    relay_maps,
    relay_options,
    secret_files,
    tls_auth,
)


class Value:
    """A leaf: the Python types it may have, an optional check, and whether it is a secret."""

    def __init__(self, types, check=None, secret=False):
        self.types, self.check, self.secret = types, check, secret


class Mapping:
    """A mapping with these known keys (each a Value, Mapping or Each)."""

    def __init__(self, keys):
        self.keys = keys


class Each:
    """A mapping whose keys the operator names (sites), each value read against ``spec``."""

    def __init__(self, spec):
        self.spec = spec


_TYPE_WORDS = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
    type(None): "null",
}


def _one_of(allowed):
    return lambda value, field: allowlist.one_of(value, allowed, field)


def _positive(value, field):
    if value < 1:
        raise SaltInvocationError(f"{field}: {value!r} is not a number above 0")


def _above_zero(value, field):
    if value <= 0:
        raise SaltInvocationError(f"{field}: {value!r} is not a number of seconds above 0")


def _strings(value, field):
    for number, item in enumerate(value):
        if not isinstance(item, str):
            raise SaltInvocationError(
                f"{field}[{number}]: expected text, got {type(item).__name__} {item!r} "
                "(quote it in YAML: '[mail.example.com]')"
            )


def _relays(value, field):
    """Each relay of a list (or the one relay) as the allowlist takes it."""
    values = value if isinstance(value, list) else [value]
    _strings(values, field)
    for number, relay in enumerate(values):
        allowlist.relay(relay, f"{field}[{number}]" if isinstance(value, list) else field)


def _mechanisms(value, field):
    _strings(value, field)
    for item in value:
        allowlist.one_of(item, tls_auth.CLIENT_MECHANISMS, field)


def _beacon_checks(value, field):
    if not value:
        raise SaltInvocationError(f"{field}: name at least one of {', '.join(BEACON_CHECKS)}")
    for item in value:
        allowlist.one_of(item, BEACON_CHECKS, field)


def _map(name):
    return lambda value, field: relay_maps.entries(value, name, field)


def _domains(value, field):
    _strings(value, field)
    for domain in value:
        allowlist.masquerade_domain(domain, field)


_INTERVAL = Value((str,), allowlist.interval)
_MAPPING = (dict, type(None))
_LIST = (list, type(None))
# What a site's relays carry beyond relaying (relay_features.py): servers only.
RELAY_FEATURES = {
    **{name: Value(_MAPPING, _map(name)) for name in relay_maps.CHECKS},
    "generics_domains": Value(_LIST, relay_options.names),
    "access": Value(_MAPPING, relay_maps.access),
    "milters": Value(_LIST, milters.check),
    "dnsbl": Value(_LIST, relay_options.dnsbl),
    "listen": Value(_LIST, relay_options.listen),
    "timeouts": Value(_MAPPING, relay_options.timeouts),
    "privacy_flags": Value(_LIST, relay_options.privacy_flags),
    "local_host_names": Value(_LIST, relay_options.names),
    "trusted_users": Value(_LIST, lambda value, field: relay_options.names(value, field, user=True)),
}
_PORT = Value((int, str, type(None)), allowlist.port)
_COUNT = Value((int,), _positive)

SITE = Mapping(
    {
        "relays": Value((list,), _relays),
        "port": _PORT,
        "smart_host": Value((str, list, type(None)), _relays),
        "smart_host_port": _PORT,
        "relay_domains": Value((list,), allowlist.relay_domains),
        "limits": Mapping(
            {
                **{name: _COUNT for name in limits_table.SERVER},
                **{name: _INTERVAL for name in limits_table.QUEUE},
            }
        ),
        "tls": Mapping(
            {
                "cert": Value((str,)),
                "key": Value((str,), secret=True),
                "ca": Value((str,)),
                "require": Value((bool,)),
            }
        ),
        "masquerade_as": Value((str, type(None)), allowlist.masquerade_domain),
        "aliases": Value((dict, type(None)), allowlist.aliases),
        **RELAY_FEATURES,
        "dkim": Mapping(
            {
                "selector": Value((str,), dkim.label),
                "next_selector": Value((str, type(None)), dkim.label),
                "domains": Value((list,), _domains),
                "bits": Value((int,), dkim.bits),
            }
        ),
        "public_addresses": Value((list,), dns_records.addresses),
        "auth": Mapping(
            {
                "user": Value((str,)),
                "password": Value((str,), secret=True),
                "mechanisms": Value((list,), _mechanisms),
            }
        ),
    }
)


def _lookup_value(default):
    """A lookup key takes the type of its default (text where the default is null)."""
    if default is None or isinstance(default, str):
        return Value((str, type(None)))
    return Value((type(default),))


PILLAR = Mapping(
    {
        "role": Value((str,), _one_of(allowlist.ROLES)),
        "site": Value((str,)),
        "site_grain": Value((str,)),
        "sites": Each(SITE),
        "msp_runner": Value((str,), _one_of(allowlist.MSP_RUNNERS)),
        "msp_interval": _INTERVAL,
        "queue_interval": _INTERVAL,
        "server_queue_interval": _INTERVAL,
        "flush_timeout": _COUNT,
        "cron_seed": Value((str, int)),
        "max_queue_age": _COUNT,
        "replace_hand_made": Value((bool,)),
        "lookup": Mapping({key: _lookup_value(value) for key, value in platform.DEFAULTS.items()}),
        # Prometheus metrics for node_exporter's textfile collector (the sendmail.metrics state).
        "metrics": Mapping({"textfile_dir": Value((str,), allowlist.path), "interval": _COUNT}),
    }
)

# The beacon's checks, and its settings: its own and those Salt's beacon machinery reads or adds.
BEACON_CHECKS = ("listeners", "daemons", "runners", "findings", "cf")
BEACON = Mapping(
    {
        "interval": Value((int, float), _above_zero),
        "checks": Value((list,), _beacon_checks),
        "emit_at_startup": Value((bool,)),
        "disable_during_state_run": Value((bool,)),
        "enabled": Value((bool,)),
        "run_once": Value((bool,)),
        "beacon_module": Value((str,)),
        "_beacon_name": Value((str,)),
    }
)


# What each key means, for the pillar reference (docs/topics/pillar.md is generated from this and
# the types above; a test checks that every key has its line). The limits' come from limits_table.
DOCS = {
    "sendmail:role": (
        "``client`` or ``server`` (required for the formula to manage the minion; choose it per minion "
        "with pillar top targeting)"
    ),
    "sendmail:site": "the minion's site (else the grain named by ``site_grain``)",
    "sendmail:site_grain": (
        "the grain that names a minion's site when ``site`` is not set (default ``site``)"
    ),
    "sendmail:sites": "the sites, each by its name (``SITE`` below), with the keys below",
    "sendmail:sites:SITE:relays": (
        "the site's relays, an ordered list (``[192.0.2.25]``, ``[mx1.example.com]``): sendmail fails "
        "over along it at delivery time"
    ),
    "sendmail:sites:SITE:port": "the relays' port, when not 25",
    "sendmail:sites:SITE:smart_host": "a smart host (or list) for the site's servers",
    "sendmail:sites:SITE:smart_host_port": "the smart host's port, when not 25",
    "sendmail:sites:SITE:relay_domains": (
        "domains, IPv4 network prefixes (``198.51.100``) and IPv6 networks (``IPv6:2001:db8:5``: the "
        "leading groups of the address, no ``::``) the site's servers accept and relay for"
    ),
    "sendmail:sites:SITE:limits": (
        "the site's limits: the servers get every one, every host the queue timeouts"
    ),
    "sendmail:sites:SITE:tls": "STARTTLS on the client-to-relay hop",
    "sendmail:sites:SITE:tls:cert": (
        "servers: the certificate, a path or PEM text (written to ``lookup:tls_dir``)"
    ),
    "sendmail:sites:SITE:tls:key": (
        f"servers: the key, a path or PEM text (written root {secret_files.KEY_MODE:04o}; never shown)"
    ),
    "sendmail:sites:SITE:tls:ca": "a path or PEM text: clients verify the relay against it",
    "sendmail:sites:SITE:tls:require": (
        "servers: the ``relay_domains`` networks must STARTTLS before MAIL; clients: mail goes to the "
        "relay only over STARTTLS (with ``ca``, only to a certificate that verifies)"
    ),
    "sendmail:sites:SITE:masquerade_as": (
        "the domain the site's mail comes from: its hosts' own mail leaves as ``NAME@DOMAIN``"
    ),
    "sendmail:sites:SITE:aliases": (
        "on the site's servers, local names and where their mail goes (an address or a list)"
    ),
    "sendmail:sites:SITE:mailertable": (
        "servers: where mail for a domain (``example.net``) or its subdomains (``.example.net``) goes: "
        "``esmtp:[203.0.113.25]``, ``smtp:mx.example.org`` or ``error:5.1.2:550 no such domain``"
    ),
    "sendmail:sites:SITE:virtusertable": (
        "servers: an address or a whole domain (``@example.net``) to an address, ``%1@example.com`` "
        "(the user part kept), a local name, ``error:nouser User unknown`` (553 at RCPT) or "
        "``error:5.1.1:550 text``; shares the map of ``aliases``"
    ),
    "sendmail:sites:SITE:genericstable": (
        "servers: outgoing senders rewritten (``alice`` or ``alice@host31.example.com`` to "
        "``alice.smith@example.com``), envelope and header, for the hosts of ``generics_domains``"
    ),
    "sendmail:sites:SITE:generics_domains": (
        "servers: the domains whose senders the genericstable rewrites"
    ),
    "sendmail:sites:SITE:domaintable": "servers: a domain rewritten to another (``old.example.com``)",
    "sendmail:sites:SITE:access": (
        "servers: access entries ``Connect:``/``From:``/``To:`` an address, prefix, ``IPv6:`` network, "
        "domain or address, to ``OK``, ``RELAY``, ``REJECT``, ``DISCARD``, ``SKIP`` or "
        '``ERROR:5.7.1:"550 text"``; in the relay\'s one access map with its flood limits'
    ),
    "sendmail:sites:SITE:milters": (
        "servers: mail filters in order, each ``name``, ``socket`` (``unix:/path``, ``inet:PORT@IP``, "
        "``inet6:PORT@IP``), ``flags`` (default ``T``: 451 while it is down; ``R``: reject) and "
        "``timeouts`` (``connect``, ``send``, ``receive``, ``eom``)"
    ),
    "sendmail:sites:SITE:dnsbl": (
        "servers: DNS blocklists, each ``zone``, ``message`` (``550 ...``), ``answers`` (A records "
        "that count, default any) and ``on_timeout`` (``tempfail``, the default, or ``accept``); the "
        "site's networks are never checked"
    ),
    "sendmail:sites:SITE:listen": (
        "servers: the addresses port 25 listens on, IPv4 and IPv6 (``0.0.0.0``, ``::`` for all of one "
        "family; default ``[0.0.0.0]``)"
    ),
    "sendmail:sites:SITE:timeouts": (
        "servers: SMTP timeouts by name (``helo: 5m``, ``ident: 0s``): "
        + ", ".join(f"``{name}``" for name in relay_options.TIMEOUTS)
    ),
    "sendmail:sites:SITE:privacy_flags": (
        "servers: PrivacyOptions added to ``goaway,noetrn,restrictqrun``: "
        + ", ".join(f"``{name}``" for name in relay_options.PRIVACY_FLAGS)
    ),
    "sendmail:sites:SITE:local_host_names": "servers: more domains the relay delivers itself (class w)",
    "sendmail:sites:SITE:trusted_users": "servers: users that may set a message's sender (class t)",
    "sendmail:sites:SITE:dkim": (
        "servers: DKIM signing with OpenDKIM (a milter, flag ``T``): each relay makes its own key "
        "for the selector ``SELECTOR-HOST`` and signs the site's mail (docs, \"Mail that leaves the "
        'site arrives: DKIM, SPF, DMARC")'
    ),
    "sendmail:sites:SITE:dkim:selector": "the selector (a DNS label); each relay adds ``-HOST``",
    "sendmail:sites:SITE:dkim:next_selector": (
        "a rotation's next selector: its key is made and its record listed, but it does not sign yet"
    ),
    "sendmail:sites:SITE:dkim:domains": ("the From domains to sign for (default ``masquerade_as``)"),
    "sendmail:sites:SITE:dkim:bits": (
        f"the key's size: {', '.join(map(str, dkim.BITS))} (default {dkim.DEFAULT_BITS})"
    ),
    "sendmail:sites:SITE:public_addresses": (
        "the addresses the site's mail leaves from as the world sees them (behind NAT); default: "
        "each relay's own global addresses. The report checks the domain's SPF allows them"
    ),
    "sendmail:sites:SITE:auth": "SMTP AUTH on the client-to-relay hop",
    "sendmail:sites:SITE:auth:user": "clients: the login",
    "sendmail:sites:SITE:auth:password": (
        "clients: the password (only in the authinfo map, root, group "
        f"{platform.DEFAULTS['msp_group']}, {secret_files.MAP_MODE:04o}: the MSP reads it; never shown)"
    ),
    "sendmail:sites:SITE:auth:mechanisms": (
        "servers offer PLAIN and/or LOGIN (inside STARTTLS only); clients may name PLAIN, LOGIN, "
        "CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256"
    ),
    "sendmail:msp_runner": (
        "what runs a client's MSP queue: ``daemon`` (``sendmail -Ac -qINTERVAL``) or ``cron``"
    ),
    "sendmail:msp_interval": "how often a client's MSP queue runs (default 15m)",
    "sendmail:queue_interval": (
        "how often cron runs a client's MTA queue while it still holds mail (default 1h)"
    ),
    "sendmail:server_queue_interval": "a server's ``-q`` interval (default 15m)",
    "sendmail:flush_timeout": "seconds for a client's MTA-queue flush before its MTA stops",
    "sendmail:cron_seed": (
        "cron spread: entries run at a minute derived from the minion id, or from this seed"
    ),
    "sendmail:replace_hand_made": (
        "a server may replace a sendmail.mc this package did not write although its own drops what "
        "that one had (the finding ``hand-made-mc`` lists it; default false: refused)"
    ),
    "sendmail:max_queue_age": (
        "seconds before a queued message is a finding (``queue-old-message``; default "
        f"{findings.MAX_QUEUE_AGE})"
    ),
    "sendmail:lookup": (
        "overrides of the per-OS-family paths, services and packages (``salt '*' sendmail.lookup`` shows"
        " them)"
    ),
    "sendmail:metrics": (
        "Prometheus metrics for node_exporter (a mapping, ``{}`` for the defaults; absent: none): the "
        "``sendmail.metrics`` SLS writes ``sendmail.prom`` and its beacon refreshes it"
    ),
    "sendmail:metrics:textfile_dir": (
        "node_exporter's textfile directory (default ``/var/lib/prometheus/node-exporter``); it must "
        "exist"
    ),
    "sendmail:metrics:interval": "seconds between refreshes (default 60)",
    **{
        f"sendmail:sites:SITE:limits:{name}": f"{row['doc']} (default {row['default']})"
        if row["default"] is not None
        else row["doc"]
        for name, row in {**limits_table.SERVER, **limits_table.QUEUE}.items()
    },
}


def type_words(spec):
    """The types a Value takes, in words (``text or null``): its errors and the pillar reference."""
    return " or ".join(_TYPE_WORDS.get(kind, kind.__name__) for kind in spec.types)


def _type_problem(spec, value, field):
    # bool is an int to Python; never to an operator.
    if isinstance(value, spec.types) and not (isinstance(value, bool) and bool not in spec.types):
        return None
    wanted = type_words(spec)
    shown = "a secret value" if spec.secret else f"{type(value).__name__} {value!r}"
    return f"{field}: expected {wanted}, got {shown}"


# The sendmail_metrics beacon: the metrics' settings, and those Salt's beacon machinery reads or adds.
METRICS_BEACON = Mapping(
    {
        "textfile_dir": Value((str,), allowlist.path),
        "interval": Value((int, float), _above_zero),
        **{key: BEACON.keys[key] for key in ("enabled", "beacon_module", "_beacon_name")},
    }
)
PARTS = {"pillar": (PILLAR, "sendmail"), "beacon": (BEACON, "beacons:sendmail")}
PARTS["metrics_beacon"] = (METRICS_BEACON, "beacons:sendmail_metrics")


def beacon_settings(config, field):
    """
    A beacon's configuration as Salt passes it (a list of one-key mappings, or one mapping) as one
    mapping, and None; or None and what is wrong with it. ``field``: ``beacons:NAME``.
    """
    name = field.rpartition(":")[2]
    if config is None or isinstance(config, dict):
        return config, None
    if not isinstance(config, list):
        return None, f"the {name} beacon's configuration must be a list of settings"
    for item in config:
        if not isinstance(item, dict):
            return None, f"the {name} beacon's settings are mappings (- interval: 60), not {item!r}"
    return salt.utils.beacons.list_to_dict(config), None


def problems_of(part, config):
    """
    ``sendmail.validate``: :func:`problems` of ``config`` as ``part`` (pillar, beacon or
    metrics_beacon). The metrics beacon must name its ``textfile_dir`` and ``interval``.
    """
    allowlist.one_of(part, tuple(PARTS), "part")
    spec, field = PARTS[part]
    if part != "pillar":
        config, problem = beacon_settings(config, field)
        if problem:
            return [problem]
    found = problems(config or {}, spec, field)
    if part == "metrics_beacon":
        found += [
            f"{field}:{key}: required"
            for key in ("textfile_dir", "interval")
            if key not in (config or {})
        ]
    return found


def problems(config, spec=PILLAR, field="sendmail"):
    """
    Every way ``config`` departs from ``spec``, as messages that name the full key path:
    ``sendmail:msp_intervall: unknown key; did you mean msp_interval?``. Empty when it fits.
    """
    if isinstance(spec, Value):
        problem = _type_problem(spec, value=config, field=field)
        if problem is None and spec.check is not None and config is not None:
            try:
                spec.check(config, field)
            except SaltInvocationError as err:
                problem = f"{field}: a secret value is not valid" if spec.secret else str(err)
        return [problem] if problem else []
    if config is None:
        return []  # an empty mapping in YAML
    if not isinstance(config, dict):
        return [f"{field}: expected a mapping, got {type(config).__name__} {config!r}"]
    found = []
    for key, value in config.items():
        path = f"{field}:{key}"
        if isinstance(spec, Each):
            found += problems(value, spec.spec, path)
        elif key in spec.keys:
            found += problems(value, spec.keys[key], path)
        else:
            found.append(f"{path}: unknown key; {_closest(key, spec.keys)}")
    return found


def _closest(key, known):
    close = difflib.get_close_matches(str(key), [name for name in known if name[0] != "_"], n=1)
    if close:
        return f"did you mean {close[0]}?"
    return f"known: {', '.join(sorted(name for name in known if name[0] != '_'))}"


def check(config, spec=PILLAR, field="sendmail"):
    """Raise SaltInvocationError listing every problem of ``config`` (see :func:`problems`)."""
    found = problems(config, spec, field)
    if found:
        raise SaltInvocationError("; ".join(found))


def key_paths(spec=PILLAR, field="sendmail"):
    """Every key path the schema knows, ``SITE`` standing for a site's name."""
    paths = []
    if isinstance(spec, Each):
        return key_paths(spec.spec, f"{field}:SITE")
    if isinstance(spec, Mapping):
        for key, sub in spec.keys.items():
            paths.append(f"{field}:{key}")
            paths += key_paths(sub, f"{field}:{key}")
    return paths
