"""
The sendmail role states' decisions (their engine, shared/role_run.py), with a fake ``__salt__``
standing for the execution module and the real lock and journal in a temp dir: every branch of
the role states in both modes, refusals, and the rollback after any failure of a step.
(The same states run against the real module and a real host in tests/integration.)
"""

import importlib.util
import logging
import pathlib
import threading

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from saltext.sendmail.shared import platform, rollback, transaction

STATE_FILE = pathlib.Path(__file__).resolve().parents[2] / "_states" / "sendmail.py"
SAVED = {
    "/etc/mail/submit.cf": "old submit.cf",
    "/etc/mail/submit.mc": None,
    "/etc/mail/sendmail.cf": "old sendmail.cf",
    "/etc/mail/sendmail.mc": None,
    "/etc/mail/sendmail.conf": 'DAEMON_MODE="Daemon";\n',
}
MTA_AND_MSP = {"mta": True, "msp_runner": True}


class FakeModule:
    """
    The ``sendmail.*`` execution functions as the state sees them: plain data, with ``changed``
    saying whether the host differs from the role, ``fail`` mapping a function name to the
    exception its first real (not test-mode) call raises, and ``refuse`` an exception that
    ``build_cf`` raises in both modes (a value outside the allowlist).
    """

    def __init__(
        self,
        changed=True,
        problems=(),
        provider="sendmail",
        mta_queued=0,
        fail=None,
        refuse=None,
        msp_needs_mta=False,
        hop_changed=False,
        access_changed=False,
    ):
        self.changed, self.problems, self.provider = changed, list(problems), provider
        self.msp_needs_mta, self.hop_changed = msp_needs_mta, hop_changed
        self.access_changed = access_changed  # a server's build: its access map alone differs
        self.mta_queued, self.fail, self.refuse = mta_queued, fail or {}, refuse
        self.calls, self.restored = [], None
        self.lookup_data = None  # the load_state fixture's: lock and journal in a temp dir
        self.dropped = []  # what a server's build drops from a hand-made .mc it may replace

    def functions(self):
        names = (
            "check_role",
            "version",
            "services",
            "queue",
            "build_cf",
            "cron_runner",
            "switch",
            "flush",
            "config_files",
            "restore",
            "settings",
            "credentials",
            "aliases",
            "lookup",
        )
        functions = {f"sendmail.{name}": getattr(self, name) for name in names}
        return {**functions, "sendmail_dkim.setup": self.dkim_setup}

    def _call(self, name, *args, test=None):
        self.calls.append((name, *args, test))
        if test is False and name in self.fail:
            raise self.fail.pop(name)

    def real_calls(self):
        return [call[:-1] for call in self.calls if call[-1] is False]

    def check_role(self, role, relay=None, msp_runner="daemon", queue_interval=None, msp_interval=None):
        # What the state was given, passed on as the real check takes it.
        assert role in ("client", "server") and msp_runner in ("daemon", "cron"), (role, msp_runner)
        self._call("check_role", role, relay, msp_runner, queue_interval, msp_interval)
        return list(self.problems)

    def version(self):
        return {
            "installed": True,
            "provider": self.provider,
            "version": "8.17.1.9",
            "msp_split": True,
            "binary": "/usr/sbin/sendmail",
        }

    def services(self, role, msp_runner="daemon", restart=False, test=False):
        self._call("services", role, msp_runner, restart, test=test)
        if role == "client" and self.msp_needs_mta:
            msp_runner = "cron"
        actions = ["stop sendmail", "start sendmail"] if self.changed else []
        return {
            "changed": self.changed,
            "actions": actions,
            "running": MTA_AND_MSP,
            "enabled": {"sendmail": True},
            "wanted": {"mta": role == "server", "msp_runner": msp_runner == "daemon"},
            "msp_runner": msp_runner,
            "ended": [],
        }

    def queue(self, name):
        return {
            "directories": [],
            "count": self.mta_queued,
            "bytes": 0,
            "oldest_age": None,
            "oldest_error": None,
            "runner": None,
            "runners": [],
        }

    def build_cf(
        self,
        kind,
        relay=None,
        port=None,
        relay_domains=None,
        limits=None,
        tls=None,
        auth=None,
        masquerade_as=None,
        test=False,
        replace_hand_made=False,
        features=None,
    ):
        # Only a server is asked about a hand-made .mc, or given the site's relay features.
        assert isinstance(replace_hand_made, bool) and (kind == "server" or not replace_hand_made)
        assert kind == "server" or features is None
        self.features = features if kind == "server" else self.__dict__.get("features")
        self._call("build_cf", kind, test=test)
        if self.refuse:
            raise self.refuse
        cf = "/etc/mail/submit.cf" if kind == "msp" else "/etc/mail/sendmail.cf"
        if self.access_changed and kind == "server":
            files = {"/etc/mail/salt-access": {"old": "3 lines", "new": "3 lines", "diff": "-a\n+b\n"}}
            return {
                "kind": kind,
                "dropped": [],
                "cf": cf,
                "relay": None,
                "changed": True,
                "files": files,
                "in_place": [],
            }
        files = {cf: {"old": "relay [127.0.0.1]", "new": f"relay {relay}", "diff": "-a\n+b\n"}}
        return {
            "kind": kind,
            "dropped": self.dropped if kind == "server" and self.changed else [],
            "cf": cf,
            "relay": relay,
            "changed": self.changed,
            "files": files if self.changed else {},
            "in_place": [],
        }

    def credentials(self, role, tls=None, auth=None, test=False):
        self._call("credentials", role, test=test)
        self.hop = {"tls": tls, "auth": auth}  # the secrets reach the module unmasked
        files = {
            "/etc/mail/salt-authinfo.db": {"old": None, "new": "authinfo for user u, password ********"}
        }
        return {"changed": self.hop_changed, "files": files if self.hop_changed else {}}

    def aliases(self, names=None, domain=None, test=False, virtusers=None):
        self._call("aliases", names, test=test)
        self.virtusers = virtusers
        changed = self.changed and bool(names)
        files = {"/etc/aliases": {"root": {"old": None, "new": "ops@example.com"}}}
        return {"changed": changed, "files": files if changed else {}, "in_place": []}

    def dkim_setup(self, dkim, relay_domains=None, masquerade_as=None, test=False):
        self._call("dkim_setup", dkim, test=test)
        made = ["s1-relay1._domainkey.example.com"] if self.changed else []
        files = {"/etc/dkimkeys/salt-keytable": {"diff": "+s1-relay1._domainkey.example.com ..."}}
        return {
            "changed": self.changed,
            "selector": "s1-relay1",
            "keys_made": made,
            "files": files if self.changed else {},
            "milter": {"name": "opendkim", "socket": "local:/run/opendkim/opendkim.sock", "flags": "T"},
            "service": "restarted" if self.changed and not test else None,
        }

    def cron_runner(self, queue, interval=None, test=False):
        self._call("cron_runner", queue, interval, test=test)
        changed = self.changed and interval is not None
        line = f"5,20,35,50 * * * * /usr/sbin/sendmail -q{'' if queue == 'mta' else ' -Ac'}"
        return {
            "identifier": f"saltext-sendmail-{queue}-queue",
            "changed": changed,
            "old": None,
            "new": line if changed else None,
        }

    def switch(self, role, queue_interval="15m", msp_interval="15m", msp_runner="daemon", test=False):
        self._call("switch", role, test=test)
        files = {"/etc/mail/sendmail.conf": {"DAEMON_MODE": {"old": "Daemon", "new": "None"}}}
        return {"role": role, "changed": self.changed, "files": files if self.changed else {}}

    def flush(self, name=None, timeout=300):
        self._call("flush", name, test=False)
        return {"mta": {"left": ["a"], "remaining": ["b"], "retcode": 0, "stderr": ""}}

    def lookup(self):
        return self.lookup_data

    def config_files(self):
        return dict(SAVED)

    def restore(self, files):
        # What the journal kept, as the real module takes it: path -> text or None.
        assert isinstance(files, dict) and all(isinstance(t, (str, type(None))) for t in files.values())
        self.restored = files
        return {"restored": ["/etc/mail/sendmail.conf", "/etc/mail/submit.cf"], "not_restored": {}}

    def settings(self, role=None, secrets=False):
        # The role state must ask for the secrets: a masked password would be written to the map.
        assert secrets is True
        if role == "broken":
            raise SaltInvocationError("sendmail:sites: no site 'x' (known: paris)")
        return {
            "role": role or "client",
            "site": "paris",
            "relay": "[relay.example.com]",
            "port": None,
            # Not a state argument: the role state drops it.
            "site_relays": {"relays": ["[relay.example.com]"], "port": 25},
        }


@pytest.fixture(params=(False, True), ids=("apply", "test"))
def testmode(request):
    return request.param


@pytest.fixture
def run_files(tmp_path, monkeypatch):
    """
    The host's lock and journal for real (shared.transaction) in a temp dir; the managed files
    a journal keeps are :data:`SAVED` (the real rollback.saved reads the real paths).
    """
    monkeypatch.setattr(rollback, "saved", lambda lookup: dict(SAVED))
    return platform.lookup(
        "Debian",
        {"lock_file": str(tmp_path / "run.lock"), "journal_file": str(tmp_path / "run.json")},
    )


@pytest.fixture
def load_state(testmode, run_files):
    """The state module with ``__salt__`` being a :class:`FakeModule` and ``__opts__`` in mode."""

    def load(fake):
        spec = importlib.util.spec_from_file_location("sendmail_state", STATE_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        fake.lookup_data = run_files
        module.__salt__ = fake.functions()
        module.__opts__ = {"test": testmode, "jid": "20261207000000000000"}
        return module

    return load


def test_client_changes_are_predicted_then_made(load_state, testmode):
    fake = FakeModule()
    ret = load_state(fake).client("sendmail", relay="[relay.example.com]")
    assert (ret["result"] is None) is testmode
    assert ret["result"] in (None, True)
    assert ret["changes"]["/etc/mail/submit.cf"]["new"] == "relay [relay.example.com]"
    assert ret["changes"]["/etc/mail/sendmail.conf"]["DAEMON_MODE"]["new"] == "None"
    assert ret["changes"]["services"]["new"] == {
        "running": {"mta": False, "msp_runner": True},
        "actions": ["stop sendmail", "start sendmail"],
    }
    verb = "would install" if testmode else "installed"
    assert ret["comment"].startswith(f"{verb} a msp configuration relaying to [relay.example.com]")
    # The values were checked as the state was given them (its defaults included), once.
    checked = [call for call in fake.calls if call[0] == "check_role"]
    assert checked == [("check_role", "client", "[relay.example.com]", "daemon", "1h", "15m", None)]
    if testmode:
        assert fake.real_calls() == []
    else:
        assert fake.real_calls() == [
            ("build_cf", "msp"),
            ("build_cf", "nullclient"),
            ("credentials", "client"),
            ("cron_runner", "msp", None),
            ("cron_runner", "mta", None),
            ("switch", "client"),
            ("services", "client", "daemon", True),
        ]


def test_credentials_are_written_after_the_cfs_and_shown_masked(load_state, testmode):
    fake = FakeModule(changed=False, hop_changed=True)
    auth = {"user": "u", "password": "s3cret-Pw"}
    ret = load_state(fake).client("sendmail", relay="[relay.example.com]", auth=auth)
    assert ret["result"] is (None if testmode else True)
    assert ret["changes"] == {
        "/etc/mail/salt-authinfo.db": {"old": None, "new": "authinfo for user u, password ********"}
    }
    assert "s3cret-Pw" not in repr(ret)
    assert fake.hop == {"tls": None, "auth": auth}
    verb = "would write" if testmode else "wrote"
    assert ret["comment"] == f"{verb} /etc/mail/salt-authinfo.db"
    # The daemons restart to read the new files.
    assert ("services", "client", "daemon", True, testmode) in fake.calls


def test_a_relay_whose_access_map_alone_changes_keeps_its_mta_running(load_state, testmode):
    # Each SMTP connection opens the access map anew (a functional test shows it): no restart.
    fake = FakeModule(changed=False, access_changed=True)
    ret = load_state(fake).server("sendmail", relay_domains=["example.com"])
    assert ret["result"] is (None if testmode else True), ret["comment"]
    assert list(ret["changes"]) == ["/etc/mail/salt-access"]
    verb = "would write" if testmode else "wrote"
    assert ret["comment"] == f"{verb} /etc/mail/salt-access (read by each connection: the daemons go on)"
    assert ("services", "server", "daemon", False, testmode) in fake.calls


def test_nothing_to_change_is_one_pass(load_state):
    fake = FakeModule(changed=False)
    ret = load_state(fake).client("sendmail", relay="[relay.example.com]")
    assert (ret["result"], ret["changes"]) == (True, {})
    assert ret["comment"] == "sendmail already plays the client role"
    assert fake.real_calls() == []


@pytest.mark.parametrize(
    ("fake", "said"),
    [
        (FakeModule(problems=["relay [127.0.0.1] is this host"]), "refused, nothing changed: relay"),
        (FakeModule(provider="none"), "no MTA is installed at /usr/sbin/sendmail"),
        (FakeModule(refuse=SaltInvocationError("port: 0 is not between 1 and 65535")), "port: 0"),
    ],
)
def test_refusals_change_nothing(load_state, fake, said, run_files):
    ret = load_state(fake).client("sendmail", relay="[127.0.0.1]")
    assert ret["result"] is False
    assert said in ret["comment"]
    assert ret["changes"] == {}
    assert fake.real_calls() == []
    # The lock is let go and no journal is left behind.
    assert not transaction.held(run_files["lock_file"])
    assert not pathlib.Path(run_files["journal_file"]).exists()


@pytest.mark.parametrize("provider", ["postfix", "exim", "other"])
def test_a_host_whose_mta_is_not_sendmail_is_left_alone_and_succeeds(load_state, provider):
    fake = FakeModule(provider=provider)
    state = load_state(fake)
    for ret in (state.client("sendmail", relay="[relay.example.com]"), state.role("sendmail")):
        assert (ret["result"], ret["changes"]) == (True, {}), ret
        what = provider if provider != "other" else "not sendmail (/usr/sbin/sendmail)"
        assert ret["comment"] == f"the MTA here is {what}: left alone, nothing changed"
    # Not one step was asked, not even in test mode.
    assert fake.calls == []


def test_a_run_waits_for_another_in_the_same_process(load_state, testmode, run_files):
    # A minion with multiprocessing: False runs jobs in threads of one process: the lock is per
    # run, not per process, so the second waits and the first's end does not free it early.
    if testmode:
        return  # test mode takes no lock
    first = transaction.Run(run_files, "pid 1, job first")
    assert first.lock(wait=0) is None
    fake = FakeModule()
    state = load_state(fake)
    result = {}
    second = threading.Thread(
        target=lambda: result.update(state.client("sendmail", relay="[relay.example.com]"))
    )
    second.start()
    second.join(1.0)
    assert second.is_alive() and fake.real_calls() == []  # waiting, nothing written
    first.finish(completed=True)
    second.join(30)
    assert result["result"] is True and fake.real_calls()[0] == ("build_cf", "msp")
    assert not transaction.held(run_files["lock_file"])


@pytest.mark.parametrize(
    "error",
    [
        CommandExecutionError("after stop sendmail, 15 s later: the MTA still runs"),
        # What escaped the state before: an OSError from a rename inside build_cf.
        PermissionError(13, "Permission denied", "/etc/mail/sendmail.cf"),
        KeyError("anything a bug could raise"),
    ],
    ids=("command-error", "os-error", "any-error"),
)
@pytest.mark.parametrize("failing", ["build_cf", "services"])
def test_any_failure_puts_the_previous_configuration_back(load_state, testmode, error, failing):
    fake = FakeModule(fail={failing: error})
    ret = load_state(fake).client("sendmail", relay="[relay.example.com]")
    if testmode:
        # Test mode never makes the real call that fails.
        assert ret["result"] is None
        assert fake.restored is None
        return
    assert ret["result"] is False
    assert fake.restored == SAVED
    assert "put the previous files back (/etc/mail/sendmail.conf, /etc/mail/submit.cf)" in ret["comment"]
    # The cause, with its type when it is not a step's own error.
    if isinstance(error, KeyError):
        assert "KeyError: 'anything a bug could raise' (traceback in the minion log)" in ret["comment"]
    # No change is reported for a file that is back as it was.
    assert not set(SAVED) & set(ret["changes"])
    services_calls = [call for call in fake.real_calls() if call[0] == "services"]
    if failing == "services":
        # The daemons are brought back as they ran before: MTA and MSP runner, so a server.
        assert services_calls[-1] == ("services", "server", "daemon", True)
        assert "restarted the daemons as they ran before" in ret["comment"]
    else:
        assert services_calls == []


def test_a_failed_put_back_is_said(load_state, testmode):
    fake = FakeModule(fail={"switch": CommandExecutionError("update_conf failed")})

    def restore(files):
        raise CommandExecutionError("could not restore: /etc/mail: Read-only file system")

    fake.restore = restore
    ret = load_state(fake).client("sendmail", relay="[relay.example.com]")
    if testmode:
        assert ret["result"] is None
        return
    assert ret["result"] is False
    assert "could not put the previous files back: could not restore" in ret["comment"]


def test_files_go_back_even_when_the_daemons_cannot(load_state, testmode, run_files):
    # The vendor's service cannot start what ran before (its queue made unusable, say).
    fake = FakeModule(fail={"services": CommandExecutionError("the MSP queue runner is not running")})
    real_services = fake.services

    def services(role, msp_runner="daemon", restart=False, test=False):
        if not test and role == "server":  # bringing back what ran before fails too
            raise CommandExecutionError("3 s later: the MSP queue runner is not running")
        return real_services(role, msp_runner, restart, test)

    fake.services = services
    ret = load_state(fake).client("sendmail", relay="[relay.example.com]")
    if testmode:
        return
    assert ret["result"] is False
    assert fake.restored == SAVED
    assert "put the previous files back (/etc/mail/sendmail.conf, /etc/mail/submit.cf)" in ret["comment"]
    assert "could not restart the daemons as they ran before: 3 s later" in ret["comment"]
    # The journal stays: status says the run did not finish, and the next run starts from it.
    assert transaction.read(run_files["journal_file"])["files"] == SAVED


def test_an_unexpected_error_is_logged_with_its_traceback(load_state, testmode, caplog):
    fake = FakeModule(fail={"switch": KeyError("x")})
    with caplog.at_level(logging.ERROR):
        ret = load_state(fake).client("sendmail", relay="[relay.example.com]")
    if testmode:
        return
    assert "KeyError: 'x'" in ret["comment"]
    [record] = [r for r in caplog.records if "unexpected KeyError" in r.getMessage()]
    assert record.exc_info and record.exc_info[0] is KeyError


def test_what_could_not_be_put_back_is_named_and_the_journal_kept(load_state, testmode, run_files):
    fake = FakeModule(fail={"switch": CommandExecutionError("update_conf failed")})
    gone = "/etc/mail/old-virtusers"

    def restore(files):
        return {
            "restored": ["/etc/mail/submit.cf"],
            "not_restored": {gone: "not a file this package manages"},
        }

    fake.restore = restore
    ret = load_state(fake).client("sendmail", relay="[relay.example.com]")
    if testmode:
        return
    assert ret["result"] is False
    assert "put the previous files back (/etc/mail/submit.cf)" in ret["comment"]
    assert f"could not put back {gone}: not a file this package manages" in ret["comment"]
    # Kept for the next run (and sendmail.status), which starts from the same files.
    assert transaction.read(run_files["journal_file"])["files"] == SAVED


def test_client_flushes_queued_mail_before_the_mta_stops(load_state, testmode):
    fake = FakeModule(mta_queued=2)
    ret = load_state(fake).client("sendmail", relay="[relay.example.com]", queue_interval="1h")
    if testmode:
        assert ret["changes"]["mta-queue"]["old"] == "2 queued"
        assert "would flush 2 queued messages to the relay" in ret["comment"]
        return
    assert ret["changes"]["mta-queue"] == {"old": "2 queued", "new": "1 sent to the relay, 1 queued"}
    # One message is left: a cron entry runs the MTA queue every hour until it is empty.
    assert ("cron_runner", "mta", "1h") in fake.real_calls()
    flushed = fake.real_calls().index(("flush", "mta"))
    assert flushed < fake.real_calls().index(("switch", "client"))


def test_msp_runner_cron_sets_its_cron_entry(load_state, testmode):
    fake = FakeModule()
    ret = load_state(fake).client(
        "sendmail", relay="[relay.example.com]", msp_runner="cron", msp_interval="15m"
    )
    assert (ret["result"] is None) is testmode
    change = ret["changes"]["cron:saltext-sendmail-msp-queue"]
    assert change["new"].endswith("sendmail -q -Ac")
    assert (
        f"{'would set' if testmode else 'set'} cron entry saltext-sendmail-msp-queue" in ret["comment"]
    )


def test_a_client_whose_msp_unit_needs_the_mta_gets_a_cron_runner(load_state, testmode):
    # Red Hat: sm-client.service is bound to sendmail.service, so a client's MSP queue is cron's.
    fake = FakeModule(msp_needs_mta=True)
    ret = load_state(fake).client("sendmail", relay="[relay.example.com]", msp_interval="20m")
    assert (ret["result"] is None) is testmode
    assert ("cron_runner", "msp", "20m", testmode) in fake.calls
    assert ("services", "client", "cron", True, testmode) in fake.calls
    assert ret["changes"]["services"]["new"]["running"] == {"mta": False, "msp_runner": False}


def test_a_server_hands_its_site_features_to_its_build_and_its_virtusers_to_the_aliases(load_state):
    fake = FakeModule()
    features = {
        "mailertable": {"example.net": "esmtp:[203.0.113.25]"},
        "virtusertable": {"@example.net": "ops@example.com"},
    }
    load_state(fake).server("sendmail", relay_domains=["example.com"], features=features)
    assert fake.features == features
    assert fake.virtusers == {"@example.net": "ops@example.com"}


def test_server_builds_a_listening_mta_and_an_msp_to_it(load_state, testmode):
    fake = FakeModule()
    ret = load_state(fake).server("sendmail", relay_domains=["example.com"])
    assert (ret["result"] is None) is testmode
    builds = [call[1] for call in fake.calls if call[0] == "build_cf"]
    assert builds[:2] == ["server", "msp"]
    assert ("cron_runner", "mta", None, testmode) in fake.calls


def test_role_reads_pillar_and_names_the_site(load_state, testmode):
    fake = FakeModule()
    state = load_state(fake)
    ret = state.role("sendmail")
    assert ret["comment"].startswith("client (site paris): ")
    assert (ret["result"] is None) is testmode
    broken = state.role("sendmail", role="broken")
    assert broken["result"] is False
    assert broken["comment"] == "sendmail:sites: no site 'x' (known: paris)"


@pytest.mark.parametrize("changed", [True, False])
def test_grains_are_refreshed_after_a_real_change_only(load_state, testmode, changed):
    fake = FakeModule(changed=changed)
    refreshed = []
    module = load_state(fake)
    module.__salt__["saltutil.refresh_grains"] = lambda **kwargs: refreshed.append(kwargs)
    module.client("sendmail", relay="[relay.example.com]")
    assert refreshed == ([{}] if changed and not testmode else [])


def test_a_hand_made_mc_replaced_as_pillar_allows_says_what_it_dropped(load_state, testmode):
    fake = FakeModule()
    fake.dropped = ["FEATURE(`mailertable', `hash -o /etc/mail/mailertable.db')dnl"]
    ret = load_state(fake).server("sendmail", relay_domains=["example.com"], replace_hand_made=True)
    assert (ret["result"] is None) is testmode
    assert ret["changes"]["hand-made-mc"] == {"old": fake.dropped, "new": None}
    verb = "would drop" if testmode else "dropped"
    assert (
        f"{verb} from the hand-made .mc (sendmail:replace_hand_made): FEATURE(`mailertable'"
        in ret["comment"]
    )


def test_a_signing_relay_sets_up_opendkim_first_and_its_cf_names_the_milter_first(load_state, testmode):
    fake = FakeModule()
    features = {"milters": [{"name": "clamav", "socket": "unix:/run/clamav/milter.ctl"}]}
    ret = load_state(fake).server(
        "sendmail", relay_domains=["example.com"], features=features, dkim={"selector": "s1"}
    )
    assert [call[0] for call in fake.calls if call[0] in ("dkim_setup", "build_cf")][:2] == [
        "dkim_setup",
        "build_cf",
    ]
    assert [milter["name"] for milter in fake.features["milters"]] == ["opendkim", "clamav"]
    assert ret["changes"]["dkim-keys"]["new"] == ["s1-relay1._domainkey.example.com"]
    assert "/etc/dkimkeys/salt-keytable" in ret["changes"]
    verb = "would make" if testmode else "made"
    assert f"{verb} the DKIM keys of s1-relay1._domainkey.example.com" in ret["comment"]
    assert ("restarted OpenDKIM" in ret["comment"]) is not testmode


def test_a_pillar_that_lists_opendkim_itself_keeps_its_own_entry(load_state):
    fake = FakeModule()
    own = {"name": "opendkim", "socket": "inet:8891@127.0.0.1", "flags": "R"}
    load_state(fake).server(
        "sendmail", relay_domains=["example.com"], features={"milters": [own]}, dkim={"selector": "s1"}
    )
    assert fake.features["milters"] == [own]


def test_a_client_never_sets_up_signing(load_state):
    fake = FakeModule()
    load_state(fake).client("sendmail", relay="[relay.example.com]")
    assert "dkim_setup" not in [call[0] for call in fake.calls]
