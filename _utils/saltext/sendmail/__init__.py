"""
saltext.sendmail, installed with pip: Salt finds this package through the ``salt.loader`` entry
point in setup.cfg and loads ``modules/`` (the repository's ``_modules``), ``states/``
(``_states``), ``grains/``, ``beacons/``, ``runners/`` and ``output/`` from it; every one of them
imports the code they share from ``shared/``. The same files serve the formula (file_roots,
``saltutil.sync_all`` on the minions, ``salt-run saltutil.sync_all`` on the master), where this
directory is ``_utils/saltext/sendmail``.
"""

try:  # written by setuptools-scm when the package is built (pyproject.toml)
    from .version import __version__
except ImportError:  # a checkout served from file_roots, never built: git describe tells
    __version__ = "0+unknown"
