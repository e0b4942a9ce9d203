"""
The ``sendmail`` grain: ``{installed, provider, version, role}``, the role as the host plays it now
(server, local-only, client, off, unknown), so that ``salt -G 'sendmail:role:server'`` and top
files target what a host really is. Grains load at every minion start and refresh: this reads the
binary's version (a 13 ms probe that stops before sendmail's hostname lookup, so it never stalls),
both cfs and the listening sockets, never a queue.

The code that sees is the shared package's (``saltext.sendmail.shared``), imported as every
loader module imports it. Grains load before pillar, so only a ``sendmail:lookup`` in the minion
config (or the per-OS defaults) applies here.
"""

import logging
import socket

try:  # now, while Salt loads this file: only then is _utils on the path (shared's docstring)
    from saltext.sendmail import shared
except ImportError:  # _utils not synced here yet, or not installed: no grain until it is
    shared = None
else:
    shared = shared.fresh()

log = logging.getLogger(__name__)


def sendmail(grains=None):
    """The ``sendmail`` grain (empty when the shared package is not on this minion yet)."""
    if shared is None:
        return {}
    from saltext.sendmail.shared import patch_level, platform, relays, roles

    opts = __opts__
    overrides = (opts.get("sendmail") or {}).get("lookup") or {}
    try:
        lookup = platform.lookup((grains or {}).get("os_family", ""), overrides)
        names = relays.this_host_names(socket.gethostname())
        found = roles.for_grain(lookup, {}, names, opts.get("cachedir"))
        # What the last sendmail.status read from the package manager (a grain cannot ask it).
        found["package"] = patch_level.cached_package(opts.get("cachedir"))
    except Exception as err:
        # A grain must never keep the minion from starting: say so, and say the role is unknown.
        log.warning("the sendmail grain could not be computed: %s", err)
        return {
            "sendmail": {
                "installed": None,
                "provider": None,
                "version": None,
                "role": "unknown",
                "package": None,
            }
        }
    return {"sendmail": found}
