"""
The sendmail.server and sendmail.client states on a private Debian host (scripts/host-run), run by
salt-call with Debian's own init script, update_conf and crontab: the host is linked to the test
run's network, where a real sendmail relay listens on 198.51.100.1.
"""

import json
import shlex
import subprocess

import pytest

from tests.support.netns import linked_netns
from tests.support.saltcall import REPO, salt_call_argv, write_minion_config
from tests.support.snapshot import snapshot_command

HOSTS = """127.0.0.1 localhost
127.0.1.1 box.example.test box
198.51.100.1 relay.example.test
192.0.2.10 example.com
192.0.2.11 example.org
"""


def state(function, config_dir=None, **kwargs):
    args = [f"{key}={json.dumps(value)}" for key, value in kwargs.items()]
    argv = salt_call_argv("state.single", function, "name=sendmail", *args, config_dir=config_dir)
    argv.insert(argv.index("--out=json"), f"--states-dir={REPO / '_states'}")
    return shlex.join(argv)


def run_steps(root, netns, steps):
    """Run named shell steps in the host; returns {name: stdout}."""
    script = [f"cat >/etc/hosts <<'EOF'\n{HOSTS}EOF"]
    for name, command in steps:
        script.append(f"echo '>>> {name}'; {command}")
    # A file beside the host's root, not `bash -c`: the host's PID 1 command line, which Salt's
    # grains log at debug level, then names only the file.
    script_file = root.parent / f"{root.name}-steps.sh"
    script_file.write_text("\n".join(script) + "\n")
    proc = subprocess.run(
        [
            str(REPO / "scripts" / "host-run"),
            "--netns",
            netns,
            str(root),
            "box.example.test",
            "bash",
            str(script_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs, name = {}, None
    for line in proc.stdout.splitlines(keepends=True):
        if line.startswith(">>> "):
            name = line[4:].strip()
            outputs[name] = ""
        elif name:
            outputs[name] += line
    return outputs


def result_of(output):
    [ret] = json.loads(output)["local"].values()
    return ret


@pytest.fixture
def relay(make_world):
    with linked_netns("smt-box", 11):
        world = make_world()
        world.start_relay("198.51.100.1")
        yield world


def test_server_with_queued_mail_becomes_a_client_and_loses_nothing(relay, tmp_path):
    out = run_steps(
        tmp_path / "host",
        "smt-box",
        [
            ("server", state("sendmail.server", relay_domains=["example.com"])),
            ("server-status", shlex.join(salt_call_argv("sendmail.status"))),
            ("queue", "printf 'Subject: t\\n\\nhi\\n' | sendmail -Am -odq a@example.com b@example.com"),
            ("before", snapshot_command()),
            (
                "client-test",
                state("sendmail.client", relay="[198.51.100.1]", masquerade_as="example.com", test=True),
            ),
            ("after-test", snapshot_command()),
            ("client", state("sendmail.client", relay="[198.51.100.1]", masquerade_as="example.com")),
            ("client-status", shlex.join(salt_call_argv("sendmail.status"))),
            ("cron.d", "grep -v '^#' /etc/cron.d/sendmail || true"),
            ("again", state("sendmail.client", relay="[198.51.100.1]", masquerade_as="example.com")),
        ],
    )
    server = result_of(out["server"])
    assert server["result"] is True, server["comment"]
    report = json.loads(out["server-status"])["local"]
    assert report["role"] == "server"
    assert ("0.0.0.0", 25) in [(entry["address"], entry["port"]) for entry in report["listeners"]]
    assert [daemon["interval"] for daemon in report["daemons"] if daemon["kind"] == "mta"] == [900]

    predicted = result_of(out["client-test"])
    assert predicted["result"] is None
    assert "would flush 1 queued messages" in predicted["comment"]
    assert predicted["changes"]["services"]["new"]["actions"] == ["stop sendmail", "start sendmail"]
    assert out["after-test"] == out["before"]

    client = result_of(out["client"])
    assert client["result"] is True, client["comment"]
    assert client["changes"]["mta-queue"] == {"old": "1 queued", "new": "1 sent to the relay, 0 queued"}
    # The message, for both recipients, reached the relay; nothing is left on the host.
    assert len(relay.queued_ids("mta")) == 1
    report = json.loads(out["client-status"])["local"]
    assert report["role"] == "client"
    assert report["listeners"] == []
    assert report["queues"]["mta"]["count"] == 0
    assert report["relay"]["msp"] == "[198.51.100.1]"
    assert report["relay"]["mta"] == "[198.51.100.1]"
    assert [daemon["kind"] for daemon in report["daemons"]] == ["msp-queue-runner"]
    assert report["switches"]["debian"]["DAEMON_MODE"] == "None"
    assert report["findings"] == []
    # Debian's update_conf ran: no MTA cron line, no cron MSP line (a daemon runs that queue).
    assert "cron-msp" not in out["cron.d"]

    again = result_of(out["again"])
    assert (again["result"], again["changes"]) == (True, {})
    assert again["comment"] == "sendmail already plays the client role"


@pytest.mark.usefixtures("relay")
def test_cron_runner_entries_are_replaced_not_added(tmp_path):
    out = run_steps(
        tmp_path / "host",
        "smt-box",
        [
            (
                "cron30",
                state(
                    "sendmail.client",
                    relay="[198.51.100.1]",
                    masquerade_as="example.com",
                    msp_runner="cron",
                    msp_interval="30m",
                ),
            ),
            ("tab30", "crontab -l"),
            (
                "cron15",
                state(
                    "sendmail.client",
                    relay="[198.51.100.1]",
                    masquerade_as="example.com",
                    msp_runner="cron",
                    msp_interval="15m",
                ),
            ),
            ("tab15", "crontab -l"),
            ("status", shlex.join(salt_call_argv("sendmail.status"))),
        ],
    )
    for name in ("cron30", "cron15"):
        assert result_of(out[name])["result"] is True, result_of(out[name])["comment"]
    for name, count in (("tab30", 2), ("tab15", 4)):
        [entry] = [line for line in out[name].splitlines() if line.endswith("sendmail -Ac -q")]
        minutes = entry.split()[0].split(",")
        assert len(minutes) == count
        assert "SALT_CRON_IDENTIFIER:saltext-sendmail-msp-queue" in out[name]
    report = json.loads(out["status"])["local"]
    # No MSP daemon: cron runs the client queue, and status sees it.
    assert report["daemons"] == []
    assert report["queues"]["msp"]["runners"][0]["type"] == "cron"
    assert report["findings"] == []


BAD_STATES = [
    ("sendmail.client", {"relay": "mail.example.com:587"}, "port"),
    ("sendmail.client", {"relay": "[a.example.com]`)esyscmd(`touch /tmp/pwned')"}, "relay"),
    ("sendmail.client", {"relay": ["mail.example.com"]}, "quote it"),
    ("sendmail.client", {"relay": "[127.0.0.1]"}, "is this host"),
    ("sendmail.client", {"relay": "[198.51.100.1]", "port": 0}, "port"),
    ("sendmail.client", {"relay": "[198.51.100.1]", "queue_interval": "7x"}, "queue_interval"),
    ("sendmail.client", {"relay": "[198.51.100.1]", "queue_interval": "7m"}, "evenly"),
    ("sendmail.client", {"relay": "[198.51.100.1]", "msp_runner": "none"}, "runner"),
    ("sendmail.server", {"relay_domains": ["dnl.example.com"]}, "relay_domains"),
    ("sendmail.server", {"relay": "[127.0.0.1]"}, "loop"),
]


@pytest.mark.usefixtures("relay")
def test_bad_input_fails_with_a_clear_comment_and_changes_nothing(tmp_path):
    steps = [("before", snapshot_command())]
    for number, (function, kwargs, _) in enumerate(BAD_STATES):
        steps.append((f"bad{number}", state(function, **kwargs)))
    steps.append(("after", snapshot_command()))
    out = run_steps(tmp_path / "host", "smt-box", steps)
    for number, (_, _, said) in enumerate(BAD_STATES):
        ret = result_of(out[f"bad{number}"])
        assert ret["result"] is False, (number, ret)
        assert said in ret["comment"], (number, ret["comment"])
        assert ret["changes"] == {}
    assert out["after"] == out["before"]


@pytest.mark.usefixtures("relay")
def test_the_formula_with_salt_call_local(tmp_path):
    """The third way: the formula's own SLS and a pillar, with salt-call --local and no master."""
    pillar = tmp_path / "pillar"
    (pillar / "sendmail").mkdir(parents=True)
    (pillar / "top.sls").write_text("base:\n  '*':\n    - sendmail\n")
    (pillar / "sendmail" / "init.sls").write_text(
        "sendmail:\n  role: client\n  site: here\n  sites: {here: {relays: ['[198.51.100.1]']}}\n"
        "  lookup: {pkgs: []}\n"
    )
    argv = salt_call_argv("state.apply", "sendmail")
    argv[argv.index("--out=json") : argv.index("--out=json")] = [
        f"--states-dir={REPO / '_states'}",
        f"--file-root={REPO / 'salt'}",
        f"--pillar-root={pillar}",
    ]
    out = run_steps(
        tmp_path / "host", "smt-box", [("first", shlex.join(argv)), ("second", shlex.join(argv))]
    )
    [first] = json.loads(out["first"])["local"].values()
    assert first["result"] is True, first["comment"]
    assert first["comment"].startswith("client (site here): ")
    assert first["__id__"] == "sendmail-init-sendmail-role"
    [second] = json.loads(out["second"])["local"].values()
    assert (second["result"], second["changes"]) == (True, {})


@pytest.mark.usefixtures("relay")
def test_a_failed_service_step_puts_the_previous_configuration_back(tmp_path):
    # The client queue made unusable: the MSP queue runner cannot start, so the services step fails
    # after the cfs and the switch were replaced.
    # The live files (the failed run's .bak copies are not put back); cron.d without the date that
    # Debian's update_conf writes into its header.
    live = [
        f"/etc/mail/{name}"
        for name in ("sendmail.cf", "submit.cf", "sendmail.mc", "submit.mc", "sendmail.conf")
    ]
    files = f"{snapshot_command(*live)}; grep -v '^#' /etc/cron.d/sendmail"
    # Wait 3 s, not 15, for daemons that will never start.
    config_dir = write_minion_config(tmp_path / "salt", sendmail={"lookup": {"services_timeout": 3}})
    out = run_steps(
        tmp_path / "host",
        "smt-box",
        [
            ("start", "/etc/init.d/sendmail start >/dev/null; chmod 0000 /var/spool/mqueue-client"),
            ("before", files),
            (
                "client",
                state(
                    "sendmail.client",
                    config_dir=config_dir,
                    relay="[198.51.100.1]",
                    masquerade_as="example.com",
                ),
            ),
            ("after", files),
            ("status", shlex.join(salt_call_argv("sendmail.status"))),
        ],
    )
    failed = result_of(out["client"])
    assert failed["result"] is False
    assert "3 s later: the MSP queue runner is not running" in failed["comment"]
    assert "put the previous files back" in failed["comment"]
    assert "restarted the daemons as they ran before" in failed["comment"]
    assert failed["changes"] == {}
    # Debian's update_conf rewrote cron.d/sendmail with a new date in its header: compared without
    # comments, like every other file byte for byte.
    assert out["after"] == out["before"]
    report = json.loads(out["status"])["local"]
    assert [(entry["address"], entry["port"]) for entry in report["listeners"]] == [
        ("127.0.0.1", 25),
        ("127.0.0.1", 587),
    ]
    assert report["switches"]["debian"]["DAEMON_MODE"] == "Daemon"


@pytest.mark.usefixtures("relay")
def test_a_server_whose_port_is_taken_fails_naming_its_mta_and_is_put_back(tmp_path):
    # Another program holds 0.0.0.0:25 in the host: the server's MTA starts and cannot bind (it
    # retries, never accepting). The state fails naming it, and the host is as it was.
    live = [f"/etc/mail/{name}" for name in ("sendmail.cf", "submit.cf", "sendmail.conf")]
    config_dir = write_minion_config(tmp_path / "salt", sendmail={"lookup": {"services_timeout": 3}})
    blocker = (
        "python3 -c 'import socket,time; s=socket.create_server((\"0.0.0.0\", 25)); time.sleep(600)'"
    )
    out = run_steps(
        tmp_path / "host",
        "smt-box",
        [
            ("hold", f"{blocker} & sleep 0.5"),
            ("before", snapshot_command(*live)),
            ("server", state("sendmail.server", config_dir=config_dir, relay_domains=["example.com"])),
            ("after", snapshot_command(*live)),
            ("status", shlex.join(salt_call_argv("sendmail.status"))),
            ("release", "kill %1"),
        ],
    )
    failed = result_of(out["server"])
    assert failed["result"] is False
    assert "after stop sendmail, start sendmail, 3 s later: the MTA is not running" in failed["comment"]
    assert "put the previous files back" in failed["comment"]
    assert out["after"] == out["before"]
    report = json.loads(out["status"])["local"]
    # No sendmail left listening, or trying to: only the other program's socket.
    assert [entry["process"] for entry in report["listeners"]] == ["python3"]
    assert [daemon for daemon in report["daemons"] if daemon["kind"] == "mta"] == []


SMTP_SEND = (
    'python3 -c \'import smtplib; s = smtplib.SMTP("127.0.0.1", 25, local_hostname="box.example.test");'
    ' s.sendmail("cron@example.com", ["ops@example.com"], "Subject: after the limits\\n\\nhi\\n");'
    ' s.sendmail("cron@example.com", ["mail@box.example.test"], "Subject: for a person\\n\\nhi\\n");'
    ' s.quit(); print("sent")\''
)
# The local user "mail" reads /var/mail/mail: up to 20 s for the relay's local delivery.
READ_MAILBOX = (
    "for _ in $(seq 100); do grep -q 'Subject: for a person' /var/mail/mail 2>/dev/null && break;"
    " sleep 0.2; done; grep -c 'Subject: for a person' /var/mail/mail"
)
MTA_PID = "head -n1 /run/sendmail/mta/sendmail.pid"


def test_a_relay_whose_limits_alone_change_keeps_its_mta_and_takes_mail(relay, tmp_path):
    # Only the access map differs: the MTA is not restarted (each connection reads the map).
    limits = {"client_connections": 3, "client_rate": 12}
    out = run_steps(
        tmp_path / "host",
        "smt-box",
        [
            ("server", state("sendmail.server", relay_domains=["example.com"])),
            ("pid-before", MTA_PID),
            ("limits", state("sendmail.server", relay_domains=["example.com"], limits=limits)),
            ("pid-after", MTA_PID),
            ("access", "cat /etc/mail/salt-access"),
            ("send", SMTP_SEND),
            ("queued", "grep -l 'Subject: after the limits' /var/spool/mqueue/qf* | wc -l"),
            ("mailbox", READ_MAILBOX),
        ],
    )
    assert result_of(out["server"])["result"] is True
    changed = result_of(out["limits"])
    assert changed["result"] is True, changed["comment"]
    assert list(changed["changes"]) == ["/etc/mail/salt-access"], changed["changes"]
    assert "the daemons go on" in changed["comment"] and "stop sendmail" not in changed["comment"]
    assert out["pid-after"] == out["pid-before"] and out["pid-before"].strip().isdigit()
    assert "ClientConn:\t3" in out["access"] and "ClientRate:\t12" in out["access"]
    # A message through the same MTA lands in its queue.
    assert out["send"].strip() == "sent" and out["queued"].strip() == "1"
    # And one for a local user reaches the mailbox that user reads, once.
    assert out["mailbox"].strip() == "1", out["mailbox"]


# A relay set up by hand years ago: Debian's sendmail.mc plus a mailertable, a milter and local
# rules, built by m4 and running.
HAND_MADE = r"""
cat >>/etc/mail/sendmail.mc <<'MC'
FEATURE(`mailertable', `hash -o /etc/mail/mailertable.db')dnl
INPUT_MAIL_FILTER(`scanner', `S=local:/run/scanner.sock')dnl
LOCAL_CONFIG
# partners' routes, kept by hand
MC
printf 'partner.example\tesmtp:[198.51.100.1]\n' >/etc/mail/mailertable
makemap hash /etc/mail/mailertable </etc/mail/mailertable
m4 /etc/mail/sendmail.mc >/tmp/hand.cf && cp /tmp/hand.cf /etc/mail/sendmail.cf
/etc/init.d/sendmail start >/dev/null 2>&1; echo built
"""
TO_MAIL = (
    "printf 'Subject: {subject}\\n\\nhi\\n' | sendmail -oi mail@box.example.test;"
    " for _ in $(seq 100); do grep -q 'Subject: {subject}' /var/mail/mail 2>/dev/null && break;"
    " sleep 0.2; done; grep -c 'Subject: {subject}' /var/mail/mail"
)


def test_a_hand_made_relay_is_refused_with_what_it_would_lose_until_pillar_says(relay, tmp_path):
    server = {"relay_domains": ["example.com"]}
    features = {"mailertable": {"partner.example": "esmtp:[198.51.100.1]"}}
    out = run_steps(
        tmp_path / "host",
        "smt-box",
        [
            ("hand-made", HAND_MADE),
            ("before", snapshot_command("/etc/mail")),
            ("predict", state("sendmail.server", test=True, **server)),
            ("refused", state("sendmail.server", **server)),
            ("after", snapshot_command("/etc/mail")),
            ("status", shlex.join(salt_call_argv("sendmail.status"))),
            ("mail-before", TO_MAIL.format(subject="through the hand-made relay")),
            # The pillar gives the mailertable: only what it cannot say is left in the list.
            ("with-maps", state("sendmail.server", test=True, features=features, **server)),
            ("replaced", state("sendmail.server", replace_hand_made=True, features=features, **server)),
            ("status-after", shlex.join(salt_call_argv("sendmail.status"))),
            ("mail-after", TO_MAIL.format(subject="through the managed relay")),
            ("route-after", "sendmail -bv bob@partner.example"),
        ],
    )
    assert "built" in out["hand-made"]
    lost = [
        "FEATURE(`mailertable', `hash -o /etc/mail/mailertable.db')dnl",
        "INPUT_MAIL_FILTER(`scanner', `S=local:/run/scanner.sock')dnl",
        "LOCAL_CONFIG",
    ]
    for name in ("predict", "refused"):
        ret = result_of(out[name])
        assert ret["result"] is False and ret["changes"] == {}, (name, ret)
        assert (
            "refused, nothing changed: /etc/mail/sendmail.mc was not written by this package"
            in ret["comment"]
        )
        assert "; ".join(lost) in ret["comment"], ret["comment"]
    # Nothing under /etc/mail changed, byte for byte.
    assert out["after"] == out["before"]
    report = json.loads(out["status"])["local"]
    assert report["hand_made_mc"] == {"path": "/etc/mail/sendmail.mc", "dropped": lost}
    [finding] = [f for f in report["findings"] if f["id"] == "hand-made-mc"]
    assert finding["severity"] == "medium" and "sendmail:replace_hand_made" in finding["message"]
    # The hand-made relay still delivers: a message to a local user reaches that user's mailbox.
    assert out["mail-before"].strip() == "1"
    with_maps = result_of(out["with-maps"])
    assert with_maps["result"] is False and "; ".join(lost[1:]) in with_maps["comment"]
    assert "mailertable" not in with_maps["comment"], with_maps["comment"]
    replaced = result_of(out["replaced"])
    assert replaced["result"] is True, replaced["comment"]
    assert replaced["changes"]["hand-made-mc"] == {"old": lost[1:], "new": None}
    # The partners' route, now from the package's own map.
    assert "mailer esmtp, host [198.51.100.1]" in out["route-after"], out["route-after"]
    assert "dropped from the hand-made .mc (sendmail:replace_hand_made)" in replaced["comment"]
    after = json.loads(out["status-after"])["local"]
    assert after["hand_made_mc"]["dropped"] == [] and after["role"] == "server"
    assert out["mail-after"].strip() == "1"
