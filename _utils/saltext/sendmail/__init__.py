"""
saltext.sendmail, installed with pip: Salt finds this package through the ``salt.loader`` entry
point in setup.cfg and loads ``modules/`` (the repository's ``_modules``), ``states/``
(``_states``), ``grains/``, ``beacons/``, ``runners/`` and ``output/`` from it; every one of them
imports the code they share from ``shared/``. The same files serve the formula (file_roots,
``saltutil.sync_all`` on the minions, ``salt-run saltutil.sync_all`` on the master), where this
directory is ``_utils/saltext/sendmail``.
"""
