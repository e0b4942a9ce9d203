"""
The package's code, one concept per file, plain Python that every loader module imports the same
way (``from saltext.sendmail.shared import judgement``): the execution module, the states, the
runner and the grain. Only the loader modules touch Salt's dunders; they pass what a concept needs
as arguments (docs, "How the code is organised").

One import path serves all three ways the package is installed: pip installs it as
``saltext.sendmail.shared``; the formula's ``_utils/saltext/sendmail/shared`` is synced by
``saltutil.sync_all`` (or ``sync_utils``) into the minion's and the master's ``extmods/utils``,
which Salt's loader puts on ``sys.path`` while it loads a module; ``salt-call -m`` finds it through
the ``utils_dirs`` option. So each loader module imports it at load time (its top level), and its
functions import the submodules they need when called.
"""

import importlib
import os
import sys


def _signature():
    """Each file of this package with its size and modification time."""
    directory = os.path.dirname(os.path.abspath(__file__))
    found = []
    for entry in os.scandir(directory):
        if entry.name.endswith(".py"):
            stat = entry.stat()
            found.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return sorted(found)


# The files as this import read them.
_SIGNATURE = _signature()


def fresh():
    """
    This package as its files are now. A loader module calls it while Salt loads it: after a sync
    replaced the files, the modules imported before are dropped and imported again, as Salt's
    loader reloads the modules it loads itself (a minion keeps its imports between jobs).
    """
    if _signature() == _SIGNATURE:
        return sys.modules[__name__]
    for name in [name for name in sys.modules if name.split(".")[:3] == __name__.split(".")]:
        del sys.modules[name]
    return importlib.import_module(__name__)
