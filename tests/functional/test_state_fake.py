"""
The state tests' fake ``__salt__`` (tests/unit/test_role_run.py) against the real execution module
through Salt's loader on a private host: each function the state calls returns the same keys, of
the same kinds, so a changed return breaks a test, not production.
"""

from tests.unit.test_role_run import FakeModule


def shape(value):
    """A return's keys and their kinds, one level down for mappings of mappings."""
    if not isinstance(value, dict):
        return type(value).__name__
    return {
        key: type(item).__name__
        if not isinstance(item, dict)
        else sorted(map(str, item))
        if key in ("running", "wanted")
        else type(item).__name__
        for key, item in value.items()
    }


def test_the_fake_returns_what_the_real_module_returns(world, sendmail):
    fake = FakeModule()
    relay = "[relay.example.com]"
    pairs = {
        "version": (sendmail.version(), fake.version()),
        "queue": (sendmail.queue("mta"), fake.queue("mta")),
        "check_role": (
            sendmail.check_role("client", relay=relay),
            fake.check_role("client", relay=relay),
        ),
        "build_cf": (
            sendmail.build_cf("msp", relay=relay, test=True),
            fake.build_cf("msp", relay=relay, test=True),
        ),
        "credentials": (
            sendmail.credentials("client", test=True),
            fake.credentials("client", test=True),
        ),
        "cron_runner": (
            sendmail.cron_runner("msp", "15m", test=True),
            fake.cron_runner("msp", "15m", test=True),
        ),
        "switch": (sendmail.switch("client", test=True), fake.switch("client", test=True)),
        "services": (sendmail.services("client", test=True), fake.services("client", test=True)),
        "flush": (sendmail.flush("mta"), fake.flush("mta")),
        "restore": (sendmail.restore({}), fake.restore({})),
        "aliases": (
            sendmail.aliases({"root": "ops@example.com"}, test=True),
            fake.aliases({"root": "x"}, test=True),
        ),
    }
    for name, (real, faked) in pairs.items():
        assert shape(faked) == shape(real), f"the fake sendmail.{name} returns another shape"
    # config_files: path -> text (or None); the fake's paths are Debian's.
    assert all(isinstance(text, (str, type(None))) for text in sendmail.config_files().values())
