import logging
import socket

import pytest
import salt._logging.impl


def pytest_configure(config):
    # Salt's deferred stderr handler would print "--- Logging error ---" after pytest's summary.
    handler = salt._logging.impl.get_temp_handler()
    if handler is not None:
        logging.root.removeHandler(handler)


def pytest_sessionstart(session):
    # The tests start daemons on port 25 and run sendmail: only inside the private namespaces that
    # scripts/test.sh makes (own network, hostname, mounts, pids), never on the machine itself.
    hostname = socket.gethostname()
    if "." not in hostname or not hostname.endswith(".example.test"):
        raise pytest.UsageError(
            "run the tests with scripts/test.sh: they need the isolated test host it creates "
            f"(hostname here is {hostname!r})"
        )
