"""
Unit tests import the package's plain code directly, as ``saltext.sendmail.shared`` from
``_utils`` (tests/conftest.py puts it on sys.path), the import every loader module makes. They need
no test host: ``.venv/bin/pytest tests/unit`` runs them anywhere.
"""
