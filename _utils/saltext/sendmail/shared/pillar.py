"""
The role and the state arguments a minion gets from the ``sendmail`` pillar (see pillar.example): its
role, its site (``site``, else the grain named by ``site_grain``) and that site's relays.
"""

from salt.exceptions import CommandExecutionError, SaltInvocationError

from . import allowlist, limits_table, relay_features, schema

# The pillar keys passed on as they are to sendmail.client and sendmail.server.
CLIENT_KEYS = ("msp_runner", "msp_interval", "queue_interval", "flush_timeout")
SERVER_KEYS = ("msp_runner", "msp_interval", "replace_hand_made")


def merged(from_pillar, from_minion_config):
    """
    The ``sendmail`` configuration of a minion: pillar, with the minion config's keys on top.
    Raises SaltInvocationError when either is not a mapping.
    """
    for where, value in (("pillar", from_pillar), ("the minion config", from_minion_config)):
        if value is not None and not isinstance(value, dict):
            raise SaltInvocationError(f"sendmail: expected a mapping in {where}, got {value!r}")
    return {**(from_pillar or {}), **(from_minion_config or {})}


def managed(config):
    """Whether the formula manages this minion: its configuration names a role."""
    return config.get("role") is not None


def resolve(config, grains, role=None):
    """
    The state arguments for this minion from the ``sendmail`` pillar ``config``. Raises
    SaltInvocationError naming every pillar key that is wrong (unknown keys with the closest
    known one, wrong types: :mod:`schema`), or the first missing one.
    """
    schema.check(config)
    role = role or config.get("role")
    if role not in allowlist.ROLES:
        raise SaltInvocationError(f"sendmail:role: {role!r} is not 'client' or 'server'")
    sites = config.get("sites") or {}  # a mapping of sites: the schema has checked every type
    site_grain = config.get("site_grain", "site")
    site = config.get("site") or grains.get(site_grain)
    if site is None and role == "client":
        raise SaltInvocationError(
            f"sendmail:site: no site for this minion (set sendmail:site or the grain {site_grain!r})"
        )
    if site is not None and site not in sites:
        known = ", ".join(sorted(map(str, sites))) or "none"
        raise SaltInvocationError(f"sendmail:sites: no site {site!r} (known: {known})")
    site_config = sites.get(site) or {}
    resolved = {"role": role, "site": site}
    # The relays the site's pillar lists, and their port: what the rolling patch keeps serving
    # whether their minions answer or not (not a state argument: the role state drops it).
    resolved["site_relays"] = {
        "relays": list(site_config.get("relays") or []),
        "port": site_config.get("port") or 25,
    }
    if role == "client":
        relay_list = site_config.get("relays")
        if not relay_list:
            raise SaltInvocationError(f"sendmail:sites:{site}:relays: site {site!r} has no relays")
        # A list of text (the schema): one element is one relay, not the YAML reading of an
        # unquoted [host] that allowlist.relays refuses.
        resolved["relay"] = relay_list[0] if len(relay_list) == 1 else relay_list
        resolved["port"] = site_config.get("port")
        # The site's queue timeouts hold on every host; its other limits are its relays'.
        queue_limits = {
            name: value
            for name, value in (site_config.get("limits") or {}).items()
            if name in limits_table.QUEUE
        }
        if queue_limits:
            resolved["limits"] = queue_limits
        keys = CLIENT_KEYS
    else:
        resolved["relay"] = site_config.get("smart_host")
        resolved["port"] = site_config.get("smart_host_port")
        resolved["relay_domains"] = site_config.get("relay_domains")
        if site_config.get("limits") is not None:
            resolved["limits"] = site_config["limits"]
        features = {key: site_config[key] for key in relay_features.KEYS if key in site_config}
        if features:
            resolved["features"] = features
        if site_config.get("dkim") is not None:
            resolved["dkim"] = site_config["dkim"]
        if config.get("server_queue_interval") is not None:
            resolved["queue_interval"] = config["server_queue_interval"]
        keys = SERVER_KEYS
    resolved.update({key: config[key] for key in keys if config.get(key) is not None})
    for key in ("tls", "auth", "masquerade_as"):
        if site_config.get(key) is not None:
            resolved[key] = site_config[key]
    if role == "server" and site_config.get("aliases") is not None:
        # The loop check needs the site's domain: root@DOMAIN going to root@DOMAIN.
        allowlist.aliases(
            site_config["aliases"], f"sendmail:sites:{site}:aliases", site_config.get("masquerade_as")
        )
        resolved["aliases"] = site_config["aliases"]
    return resolved


def minion_problems(config, grains):
    """
    ``sendmail.validate`` of a minion's own configuration: the schema's problems; else, what keeps
    its role from being applied: no role (the formula leaves it alone: unmanaged), no usable site,
    a site without relays.
    """
    found = schema.problems(config or {})
    if found:
        return found
    if not managed(config or {}):
        return ["sendmail:role: not set: the formula leaves this minion alone (unmanaged)"]
    try:
        resolve(config, grains)
    except (CommandExecutionError, SaltInvocationError) as err:
        return [str(err)]
    return []


def signs(resolved):
    """Whether this minion signs its site's mail with DKIM: a relay whose site has ``dkim``."""
    return resolved.get("role") == "server" and bool(resolved.get("dkim"))


def masked(resolved):
    """``resolved`` with the client's password replaced by a mask (what the CLI shows)."""
    auth = resolved.get("auth")
    if isinstance(auth, dict) and "password" in auth:
        return {**resolved, "auth": {**auth, "password": "********"}}
    return resolved
