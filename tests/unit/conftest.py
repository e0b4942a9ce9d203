"""
Unit tests import the execution module's dunder-free submodules directly, as the plain package
``sendmail`` from ``_modules`` (Salt loads the same files as ``salt.loaded.ext.module.sendmail``).
They need no test host: ``.venv/bin/pytest tests/unit`` runs them anywhere.
"""

import pathlib
import sys

MODULES = pathlib.Path(__file__).resolve().parents[2] / "_modules"
if str(MODULES) not in sys.path:
    sys.path.insert(0, str(MODULES))
