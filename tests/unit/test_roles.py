"""
The role helpers on each vendor's real switch file format (Red Hat, Solaris and FreeBSD cannot run
here; their files and service rules can): switch values, file edits, service calls, cron spread.
"""

import itertools
import pathlib

import pytest
from sendmail import checks, crontabs, pillar, platform, relays, roles, service_plan, switches, tls

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"


def edit(kind, text, role, msp_runner="daemon"):
    values = switches.role_values(kind, role, "15m", "20m", msp_runner)
    style = switches.STYLES.get(kind, '{key}="{value}"')
    return switches.parse_shell_vars(
        switches.set_shell_vars(text, values, style)
    ), switches.set_shell_vars(text, values, style)


def test_redhat_client_turns_the_daemon_off_in_sysconfig():
    text = (DATA / "redhat-sysconfig-sendmail").read_text()
    values, new_text = edit("redhat", text, "client")
    assert new_text == "DAEMON=no\nQUEUE=15m\nSMQUEUE=20m\n"
    assert values == {"DAEMON": "no", "QUEUE": "15m", "SMQUEUE": "20m"}


def test_solaris_client_empties_mode_and_keeps_the_comments():
    text = (DATA / "solaris-default-sendmail").read_text()
    values, new_text = edit("solaris", text, "client")
    assert values["MODE"] == ""
    assert values["CLIENTQUEUEINTERVAL"] == "20m"
    # The vendor's commented examples stay; the settings are appended after them.
    assert new_text.startswith(text)
    assert 'MODE=""' in new_text.splitlines()
    server, _ = edit("solaris", new_text, "server")
    assert server["MODE"] == "-bd"


def test_freebsd_client_keeps_the_msp_queue_runner():
    defaults = (DATA / "freebsd-defaults-rc.conf").read_text()
    rc_conf = (DATA / "freebsd-rc.conf").read_text()
    _, new_rc = edit("freebsd", rc_conf, "client")
    # rc.conf is read after /etc/defaults/rc.conf: the effective values are the client's.
    effective = switches.parse_shell_vars(defaults + new_rc)
    assert effective["sendmail_enable"] == "NO"
    assert effective["sendmail_submit_enable"] == "NO"
    assert effective["sendmail_outbound_enable"] == "NO"
    assert effective["sendmail_msp_queue_enable"] == "YES"
    assert effective["sendmail_msp_queue_flags"] == "-L sm-msp-queue -Ac -q20m"
    # NONE would stop the MSP queue runner too and strand mail: never written.
    assert "NONE" not in new_rc
    assert new_rc.startswith(rc_conf)


def test_debian_modes_compare_without_case():
    assert not switches.differs("debian", "DAEMON_MODE", "None", "none")
    assert switches.differs("debian", "MSP_INTERVAL", "20M", "20m")
    assert switches.differs("redhat", "DAEMON", None, "no")


def test_set_shell_vars_replaces_every_assignment_in_place():
    text = "# DAEMON=yes\nDAEMON=yes\nexport QUEUE=1h\nDAEMON=yes\n"
    assert switches.set_shell_vars(text, {"DAEMON": "no"}, "{key}={value}") == (
        "# DAEMON=yes\nDAEMON=no\nexport QUEUE=1h\nDAEMON=no\n"
    )


def test_unknown_switch_kind_is_refused():
    with pytest.raises(Exception, match="no daemon switch"):
        switches.role_values("aix", "client", "15m", "15m", "daemon")


def service_actions(os_family, *args):
    return service_plan.actions(platform.lookup(os_family), *args)


NOTHING_RUNS = {"mta": False, "msp_runner": False}
MTA_RUNS = {"mta": True, "msp_runner": False}


def test_redhat_client_stops_both_units_and_leaves_the_msp_queue_to_cron():
    # sm-client.service has BindTo=sendmail.service: it cannot run without the MTA, and an enabled
    # sm-client would bring the MTA back at boot. So a client's MSP queue is run by cron.
    redhat = platform.lookup("RedHat")
    assert service_plan.msp_runner(redhat, "client", "daemon") == "cron"
    assert service_plan.msp_runner(redhat, "server", "daemon") == "daemon"
    assert service_plan.msp_runner(platform.lookup("Debian"), "client", "daemon") == "daemon"
    enabled = {"sendmail": True, "sm-client": True}
    assert service_actions(
        "RedHat", "client", {"mta": True, "msp_runner": True}, enabled, "cron", False
    ) == [
        ("disable", "sendmail"),
        ("stop", "sendmail"),
        ("disable", "sm-client"),
        ("stop", "sm-client"),
    ]


def test_redhat_enables_sm_client_again_after_its_also_disabled_it():
    # A role that wants the MTA off but an MSP unit on (no vendor does today): Also= disables
    # sm-client with sendmail, so it is enabled again after.
    actions = service_actions(
        "RedHat", "client", MTA_RUNS, {"sendmail": True, "sm-client": True}, "daemon", False
    )
    assert actions.index(("enable", "sm-client")) > actions.index(("disable", "sendmail"))


def test_redhat_renders_the_pid_files_its_units_expect():
    redhat = platform.lookup("RedHat")
    assert (redhat["mta_pid_file"], redhat["msp_pid_file"]) == (
        "/run/sendmail.pid",
        "/run/sm-client.pid",
    )


def test_redhat_server_and_converged_hosts():
    running = {"mta": True, "msp_runner": True}
    enabled = {"sendmail": True, "sm-client": True}
    assert service_actions("RedHat", "server", running, enabled, "daemon", False) == []
    assert service_actions("RedHat", "server", running, enabled, "daemon", True) == [
        ("restart", "sendmail"),
        ("restart", "sm-client"),
    ]


@pytest.mark.parametrize("os_family", ["Debian", "FreeBSD", "Solaris"])
def test_one_service_hosts_restart_only_when_the_daemons_differ(os_family):
    enabled = {"sendmail": True, "sendmail-client": True}
    client_running = {"mta": False, "msp_runner": True}
    assert service_actions(os_family, "client", client_running, enabled, "daemon", False) == []
    assert service_actions(os_family, "client", MTA_RUNS, enabled, "daemon", False) == [
        ("stop", "sendmail"),
        ("start", "sendmail"),
    ]
    # A client whose MSP queue is run by cron needs no daemon at all: stop, no start.
    assert service_actions(os_family, "client", MTA_RUNS, enabled, "cron", False) == [
        ("stop", "sendmail")
    ]
    assert ("enable", "sendmail") in service_actions(
        os_family, "server", NOTHING_RUNS, {}, "daemon", False
    )


def test_cron_schedule_spreads_a_fleet_and_is_stable():
    minutes = {crontabs.schedule("15m", f"host{number}.example.test")[0] for number in range(40)}
    assert len(minutes) > 1
    for spec in minutes:
        values = [int(value) for value in spec.split(",")]
        assert len(values) == 4
        assert [later - earlier for earlier, later in itertools.pairwise(values)] == [15, 15, 15]
        assert 0 <= values[0] < 15
    assert crontabs.schedule("1h", "a.example.test") == crontabs.schedule("1h", "a.example.test")
    minute, hour = crontabs.schedule("6h", "a.example.test")
    assert 0 <= int(minute) < 60
    assert len(hour.split(",")) == 4


@pytest.mark.parametrize("interval", ["7m", "90m", "5h", "2d"])
def test_cron_schedule_refuses_uneven_intervals(interval):
    with pytest.raises(Exception, match="evenly"):
        crontabs.schedule(interval, "a.example.test")


@pytest.mark.parametrize("interval", ["15", "fast", "", None, "0m", "1h 30m", True, "15m\n"])
def test_bad_intervals_are_refused(interval):
    with pytest.raises(Exception, match="queue_interval"):
        checks.interval(interval, "queue_interval")


def test_role_problems_name_what_would_strand_mail():
    hostnames = relays.this_host_names("box.example.test")
    assert roles.problems("client", ["[mail.example.com]"], hostnames) == []
    for relay in ("[127.0.0.1]", "localhost", "[IPv6:::1]", "box.example.test", "esmtp:[box]"):
        [problem] = roles.problems("client", [relay], hostnames)
        assert "is this host" in problem
    assert "loop" in roles.problems("server", ["[127.0.0.1]"], hostnames)[0]
    assert roles.problems("server", ["[mail.example.com]"], hostnames) == []


@pytest.mark.parametrize("runner", ["none", False, None, "Daemon"])
def test_an_msp_queue_without_a_runner_is_refused(runner):
    with pytest.raises(Exception, match=r"msp_runner .*the MSP queue needs a runner"):
        checks.msp_runner(runner)


def test_smart_host_lists_name_their_mailer():
    assert relays.smart_host(["mailhub"]) == "mailhub"
    # Without "relay:", sendmail would read the one-label "mailhub" as a mailer name.
    assert relays.smart_host(["mailhub", "[mx2.example.com]"]) == "relay:mailhub:[mx2.example.com]"
    assert relays.smart_host(["esmtp:[a.example.com]", "[b.example.com]"]) == (
        "esmtp:[a.example.com]:[b.example.com]"
    )
    assert relays.smart_host([]) == ""


@pytest.mark.parametrize("domains", ["example.com", ["dnl.example.com"], ["a b"], [1], [""]])
def test_bad_relay_domains_are_refused(domains):
    with pytest.raises(Exception, match="relay_domains"):
        checks.relay_domains(domains)


@pytest.fixture(scope="module")
def example_pillar():
    import yaml

    return yaml.safe_load((REPO / "pillar.example").read_text())["sendmail"]


def test_pillar_example_resolves_for_a_client_and_a_server(example_pillar):
    client = pillar.resolve(example_pillar, {"site": "paris"})
    assert client == {
        "role": "client",
        "site": "paris",
        "relay": ["[relay1.paris.example.com]", "[relay2.paris.example.com]"],
        "port": 25,
        "msp_runner": "daemon",
        "msp_interval": "15m",
        "queue_interval": "1h",
        "flush_timeout": 300,
        "tls": example_pillar["sites"]["paris"]["tls"],
        "auth": example_pillar["sites"]["paris"]["auth"],
    }
    # What the CLI shows: the password masked.
    assert pillar.masked(client)["auth"] == {**client["auth"], "password": "********"}
    assert client["auth"]["password"] == example_pillar["sites"]["paris"]["auth"]["password"]
    # The example's hop settings pass the checks for both roles (its paths aside: no such files here).
    paths = {"sendmail_cf": "/etc/mail/sendmail.cf"}
    hop = tls.request("msp", paths, tls={"require": True}, auth=client["auth"])
    assert hop["auth"]["mechanisms"] == ["PLAIN", "LOGIN"]
    # Every relay of the example passes the allowlist.
    assert checks.relays(client["relay"]) == client["relay"]
    server = pillar.resolve(example_pillar, {"site": "paris"}, role="server")
    assert server["relay_domains"] == ["paris.example.com", "198.51.100"]
    assert checks.server_limits(server["limits"]) == checks.SERVER_LIMITS
    assert (server["relay"], server["port"], server["queue_interval"]) == (
        "[outbound.example.com]",
        587,
        "15m",
    )
    # A site's one-relay list is that relay: a list of one bare name means an MX lookup here.
    lyon = pillar.resolve({**example_pillar, "site": "lyon"}, {"site": "paris"})
    assert lyon["relay"] == "[relay1.lyon.example.com]"
    sites = {"mx": {"relays": ["mail.example.com"]}}
    assert pillar.resolve({"role": "client", "sites": sites}, {"site": "mx"})["relay"] == (
        "mail.example.com"
    )


@pytest.mark.parametrize(
    ("change", "grains", "said"),
    [
        ({"role": "relay"}, {"site": "paris"}, "sendmail:role: 'relay'"),
        ({"role": None}, {"site": "paris"}, "sendmail:role"),
        ({}, {}, "sendmail:site: no site"),
        ({}, {"site": "berlin"}, "no site 'berlin' (known: lyon, paris)"),
        ({"sites": {"paris": {"relays": []}}}, {"site": "paris"}, "sendmail:sites:paris:relays"),
        ({"sites": ["paris"]}, {"site": "paris"}, "sendmail:sites: expected a mapping"),
    ],
)
def test_bad_pillar_names_the_key(example_pillar, change, grains, said):
    with pytest.raises(Exception, match="sendmail:") as err:
        pillar.resolve({**example_pillar, **change}, grains)
    assert said in str(err.value)


def test_server_limits_have_safe_defaults_and_refuse_bad_values():
    assert checks.server_limits(None) == {
        "max_message_size": 26214400,
        "connection_rate_throttle": 10,
        "max_daemon_children": 40,
    }
    assert checks.server_limits({"max_message_size": 1000})["max_message_size"] == 1000
    for bad in ({"max_message_size": 0}, {"max_message_size": "10M"}, {"max_daemon_children": True},
                {"rate": 5}, [10]):  # fmt: skip
        with pytest.raises(Exception, match="limits"):
            checks.server_limits(bad)
