import contextlib
import logging
import os
import pathlib
import shutil
import socket
import sys
import tempfile

import pytest
import salt._logging.impl
import salt.version

# The shared package as the loader modules import it (saltext.sendmail.shared), from the checkout.
UTILS = pathlib.Path(__file__).resolve().parents[1] / "_utils"
if str(UTILS) not in sys.path:
    sys.path.insert(0, str(UTILS))

from tests.support.event_listener import Listener  # noqa: E402
from tests.support.world import World  # noqa: E402


def pytest_configure(config):
    # Salt's deferred stderr handler would print "--- Logging error ---" after pytest's summary.
    handler = salt._logging.impl.get_temp_handler()
    if handler is not None:
        logging.root.removeHandler(handler)
    config.addinivalue_line(
        "markers",
        "salt_line(line, only=False): when scripts/test.sh runs several Salt lines at once "
        "(SM_SALT_LINES), run this test on that line only: a slow test of what no Salt version "
        "changes (docs, Tests); with only=True, never on another line (what Salt itself supports "
        "on that line only: syndics)",
    )


def _deselect_other_lines(config, items):
    """
    The tests marked ``salt_line(N)`` for another line than this one, when that line runs too
    (scripts/test.sh sets SM_SALT_LINES to the lines it runs at once): deselected, so each runs once.
    """
    running = (os.environ.get("SM_SALT_LINES") or "").split()
    this = str(salt.version.__saltstack_version__.major)
    kept, other = [], []
    for item in items:
        marker = item.get_closest_marker("salt_line")
        line = str(marker.args[0]) if marker else this
        only = bool(marker and marker.kwargs.get("only"))
        (other if line != this and (only or line in running) else kept).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = kept


def pytest_collection_modifyitems(config, items):
    _deselect_other_lines(config, items)
    # Every test but the unit tests starts daemons on port 25 or runs sendmail: only inside the
    # private namespaces that scripts/test.sh makes (own network, hostname, mounts, pids), never on
    # the machine itself. The unit tests touch nothing and run anywhere.
    unit = config.rootpath / "tests" / "unit"
    if all(unit in item.path.parents for item in items):
        return
    hostname = socket.gethostname()
    if "." not in hostname or not hostname.endswith(".example.test"):
        raise pytest.UsageError(
            "run the tests with scripts/test.sh: all but tests/unit need the isolated test host "
            f"it creates (hostname here is {hostname!r})"
        )


@pytest.fixture(scope="session")
def event_listener():
    """pytest-salt-factories' event listener (its fixture, overridden): see tests.support.event_listener."""
    with Listener() as listener:
        yield listener


@pytest.fixture(scope="session")
def salt_factories_config():
    """pytest-salt-factories' root (tests/fleet, tests/systemd/test_patch_relays.py)."""
    # A short root: the daemons' AF_UNIX socket paths must stay under 108 characters.
    root = tempfile.mkdtemp(prefix="sf-", dir="/tmp")
    yield {"root_dir": root, "slow_stop": False}
    shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def world_maker():
    """Make private sendmail hosts; each is removed, its daemons stopped, at the end."""
    made = []

    def make(**kwargs):
        # Not under pytest's tmp_path: its 0700 directories would keep sendmail's RunAsUser (smmsp)
        # out of the client queue and submit.cf.
        root = tempfile.mkdtemp(prefix="smw-", dir="/tmp")
        os.chmod(root, 0o755)
        made.append(World(root, **kwargs))
        return made[-1]

    try:
        yield make
    finally:
        for host in made:
            host.stop_daemons()
            shutil.rmtree(host.root, ignore_errors=True)


@pytest.fixture
def make_world():
    """Make private sendmail hosts; each is removed, its daemons stopped, after the test."""
    with world_maker() as make:
        yield make


@pytest.fixture
def world(make_world):
    """A private sendmail host."""
    return make_world()
