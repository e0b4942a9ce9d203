"""
A relay under a flood still serves its site: per-client connection and rate limits read by
sendmail's own ``FEATURE(conncontrol)`` and ``FEATURE(ratecontrol)`` from an access map of ours
(``ClientConn:`` / ``ClientRate:`` entries; ``terminate``: the excess gets 421 at once), a
``greet_pause`` that refuses clients talking before the greeting, the site's own networks (the
IPv4 prefixes and IPv6 networks of ``relay_domains``) and loopback exempt from all three.
Measured with real idle connections (FIELD-NOTES, "Faults"): one outsider can no longer spend
MaxDaemonChildren.

The map is ours alone (``access_map``, else salt-access beside sendmail.cf), written whole with
the site's own access entries (:mod:`relay_maps`): an operator's /etc/mail/access is never read
nor changed.
"""

from . import files, hash_maps, limits_table, platform, relays

ACCESS_NAME = "salt-access"
# Never limited: this host itself (its MSP hands mail to 127.0.0.1).
LOOPBACK = "127.0.0.1"


def access_map(lookup):
    """The access map (without ``.db``): ``access_map``, else salt-access beside sendmail.cf."""
    return platform.beside_cf(lookup, "access_map", ACCESS_NAME)


def access_text(limits, relay_domains, site_entries=()):
    """
    The access map's source: the default per-client limits, then a 0 (no limit, no pause) for
    loopback and each of the site's networks (IPv4 prefixes, ``IPv6:`` networks), then
    ``site_entries`` (lines: each network's ``Connect: RELAY``, the site's own entries;
    :func:`relay_features.access_lines`). makemap reads ``key<TAB>value`` lines.
    """
    lines = ["# Managed by Salt (saltext-sendmail): this relay's access map. Edits are replaced."]
    lines += [f"{key}:\t{limits[name]}" for name, key in limits_table.ACCESS_ENTRIES.items()]
    for network in [LOOPBACK, *relays.site_networks(relay_domains)]:
        lines += [f"{key}:{network}\t0" for key in (*limits_table.ACCESS_ENTRIES.values(), "GreetPause")]
    return "\n".join([*lines, *site_entries]) + "\n"


def mc_lines(limits, map_path):
    """
    The server .mc's FEATURE lines (before its MAILERs). Without ``nodelay`` the checks run in
    check_relay, at connect time all the same; ``nodelay`` would need delay_checks, which would
    move the site's STARTTLS requirement (tls_auth.py, at MAIL) to RCPT.
    """
    return [
        f"FEATURE(`access_db', `hash -T<TMPF> -o {map_path}')dnl",
        "FEATURE(`conncontrol', `', `terminate')dnl",
        "FEATURE(`ratecontrol', `', `terminate')dnl",
        f"FEATURE(`greet_pause', `{limits['greet_pause']}')dnl",
    ]


def rebuild(lookup, paths, run):
    """After a restore: the map again from its source, if the source is among ``paths``."""
    path = access_map(lookup)
    if path in paths:
        hash_maps.build(lookup, run, path, files.read_text(path) or "")
