"""
The ``sendmail`` grain: ``{installed, provider, version, role}``, the role as the host plays it now
(server, local-only, client, off, unknown), so that ``salt -G 'sendmail:role:server'`` and top
files target what a host really is. Grains load at every minion start and refresh: this reads the
binary's version (a 13 ms probe that stops before sendmail's hostname lookup, so it never stalls),
both cfs and the listening sockets, never a queue.

The code that sees is the execution module's (``_modules/sendmail``): this file only finds that
package where Salt put it (synced to the minion's extension modules, a ``module_dirs`` entry, or
pip-installed) and loads it under a private name. Grains load before pillar, so only a
``sendmail:lookup`` in the minion config (or the per-OS defaults) applies here.
"""

import importlib
import importlib.util
import logging
import os
import socket
import sys

log = logging.getLogger(__name__)

PRIVATE_NAME = "_saltext_sendmail_for_grains"


def _package_dirs(opts):
    dirs = [os.path.join(opts.get("extension_modules") or "", "modules", "sendmail")]
    dirs.extend(os.path.join(directory, "sendmail") for directory in opts.get("module_dirs") or [])
    return [directory for directory in dirs if os.path.isfile(os.path.join(directory, "__init__.py"))]


def _loaded_from():
    """Where and when the package under PRIVATE_NAME was read, or None."""
    module = sys.modules.get(PRIVATE_NAME)
    return getattr(module, "__sendmail_grain_source__", None)


def _package(opts):
    """The execution module's package (its submodules are plain Python: no loader needed)."""
    for directory in _package_dirs(opts):
        # A sync replaces changed files: read them again then (a grains refresh follows a sync).
        source = (directory, max(entry.stat().st_mtime_ns for entry in os.scandir(directory)))
        if _loaded_from() == source:
            return PRIVATE_NAME
        for name in [name for name in sys.modules if name.split(".")[0] == PRIVATE_NAME]:
            del sys.modules[name]
        spec = importlib.util.spec_from_file_location(
            PRIVATE_NAME, os.path.join(directory, "__init__.py"), submodule_search_locations=[directory]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[PRIVATE_NAME] = module
        spec.loader.exec_module(module)
        module.__sendmail_grain_source__ = source
        return PRIVATE_NAME
    try:
        importlib.import_module("saltext.sendmail.modules.sendmail")
    except ImportError:
        return None
    return "saltext.sendmail.modules.sendmail"


def sendmail(grains=None):
    """The ``sendmail`` grain (empty when the execution module is not on this minion yet)."""
    opts = __opts__
    overrides = (opts.get("sendmail") or {}).get("lookup") or {}
    try:
        package = _package(opts)
        if package is None:
            return {}
        platform = importlib.import_module(f"{package}.platform")
        relays = importlib.import_module(f"{package}.relays")
        roles = importlib.import_module(f"{package}.roles")
        patch_level = importlib.import_module(f"{package}.patch_level")
        lookup = platform.lookup((grains or {}).get("os_family", ""), overrides)
        found = roles.for_grain(lookup, {}, relays.this_host_names(socket.gethostname()))
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
