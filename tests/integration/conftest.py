# The functional tests' loader and TLS relay fixtures, for the integration tests that need a relay
# built by the module under test.
from tests.functional.conftest import base_opts, load, pki, set_lookup, tls_relay  # noqa: F401
