import importlib.util
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mod():
    """The execution module's file, imported as a plain module for its pure helpers."""
    spec = importlib.util.spec_from_file_location("sendmail_mod", REPO / "_modules" / "sendmail.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
