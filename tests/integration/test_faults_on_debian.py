"""
Faults met by the role states on a private Debian host (scripts/host-run) linked to a real relay on
198.51.100.1: a run SIGKILLed half-way (seen by status, healed by the next run), a run that finds
the host's lock held (waits, fails naming the holder, changes nothing), and a message still being
written to sendmail while the host turns from server to client. Every message is counted at the
relay: each arrives exactly once.
"""

import json
import shlex

import pytest

from tests.integration.test_roles_on_debian import relay, result_of, run_steps, state  # noqa: F401
from tests.support.saltcall import salt_call_argv, write_minion_config
from tests.support.snapshot import snapshot_command

JOURNAL = "/var/lib/sendmail/saltext-sendmail-run.json"
LOCK = "/run/sendmail/saltext-sendmail.lock"
CLIENT = {"relay": "[198.51.100.1]", "masquerade_as": "example.com"}

# A run SIGKILLed once it has journalled (it is then building, flushing or switching).
KILL = """
setsid {run} >/dev/null 2>&1 &
run=$!
for i in $(seq 400); do [ -f {journal} ] && break; sleep 0.02; done
sleep 0.4
kill -9 -- -$run; wait $run || true
test -f {journal} && echo journal-left
"""

# Another run holds the lock (as a highstate from the master would) while this one starts.
HOLD = """
python3 -c 'import fcntl, os, sys, time
h = open(sys.argv[1], "a+"); fcntl.flock(h, fcntl.LOCK_EX)
h.seek(0); h.truncate(); h.write("pid 4242, job 20261206120000000000"); h.flush()
print("held", flush=True); time.sleep(60)' {lock} > /tmp/held &
holder=$!
for i in $(seq 100); do grep -q held /tmp/held && break; sleep 0.05; done
{run}
kill $holder
"""

# A user's message still being typed into sendmail across the whole role change.
SLOW = "(printf 'Subject: slow\\n\\n'; sleep 9; printf 'typed while the role changed\\n') | sendmail -oi x@example.com &"


def relay_subjects(relay_world):
    """The Subject of every message in the relay's queue (qf H lines)."""
    subjects = []
    for qf in sorted(relay_world.mqueue.glob("qf*")):
        subjects += [
            line[line.index("Subject:") :].strip()
            for line in qf.read_text(errors="replace").splitlines()
            if "Subject:" in line
        ]
    return sorted(subjects)


def test_a_killed_run_is_seen_and_healed_and_a_held_lock_changes_nothing(relay, tmp_path):  # noqa: F811
    short_wait = write_minion_config(tmp_path / "other-run", sendmail={"lookup": {"lock_timeout": 1}})
    status = shlex.join(salt_call_argv("sendmail.status"))
    out = run_steps(
        tmp_path / "host",
        "smt-box",
        [
            ("server", state("sendmail.server", relay_domains=["example.com"])),
            ("queue", "printf 'Subject: queued\\n\\nhi\\n' | sendmail -Am -odq a@example.com"),
            ("slow", SLOW),
            ("killed", KILL.format(run=state("sendmail.client", **CLIENT), journal=JOURNAL)),
            ("status-killed", status),
            ("before-held", snapshot_command()),
            (
                "held",
                HOLD.format(lock=LOCK, run=state("sendmail.client", config_dir=short_wait, **CLIENT)),
            ),
            ("after-held", snapshot_command()),
            ("heal", state("sendmail.client", **CLIENT)),
            ("typed", "wait; sendmail -Ac -qf; echo done"),
            ("status-healed", status),
            ("again", state("sendmail.client", **CLIENT)),
        ],
    )
    assert result_of(out["server"])["result"] is True
    # Killed with its journal on disk: status says so, naming the role it was going to.
    assert "journal-left" in out["killed"]
    report = json.loads(out["status-killed"])["local"]
    [finding] = [f for f in report["findings"] if f["id"] == "run-interrupted"]
    assert finding["severity"] == "high" and "toward the client role" in finding["message"], finding
    assert "did not finish" in report["interrupted_run"]

    # A run that finds the lock held waits its second, then fails naming the holder: nothing changed.
    held = result_of(out["held"])
    assert held["result"] is False
    assert (
        "pid 4242, job 20261206120000000000" in held["comment"] and "nothing changed" in held["comment"]
    )
    assert out["after-held"] == out["before-held"]

    # The next run is told, rolls forward, and the journal is gone.
    heal = result_of(out["heal"])
    assert heal["result"] is True, heal["comment"]
    assert "did not finish" in heal["comment"] and "rolled forward" in heal["comment"], heal["comment"]
    report = json.loads(out["status-healed"])["local"]
    assert report["interrupted_run"] is None
    assert report["role"] == "client" and report["listeners"] == []
    assert report["findings"] == [], report["findings"]
    assert result_of(out["again"])["changes"] == {}
    # The queued message and the one typed across the change each reached the relay once.
    assert "done" in out["typed"]
    assert relay_subjects(relay) == ["Subject: queued", "Subject: slow"]


# Seconds after its journal at which a run is killed: while it builds, while it switches and
# restarts the daemons (a role change takes 3 to 6 s here).
KILL_POINTS = (0.2, 1.5, 3.0)


# When both Salt lines run at once, each kill point runs on one of them (what a SIGKILL leaves is
# the role run's and sendmail's, the same on either line).
@pytest.mark.parametrize(
    "after",
    [
        pytest.param(after, marks=pytest.mark.salt_line(3008 if after == 1.5 else 3006))
        for after in KILL_POINTS
    ],
)
def test_runs_killed_at_points_through_both_role_changes_converge_and_lose_no_mail(
    relay,  # noqa: F811
    tmp_path,
    after,
):
    killed = KILL.replace("sleep 0.4", f"sleep {after}")
    server = state("sendmail.server", relay_domains=["example.com"])
    client = state("sendmail.client", **CLIENT)
    status = shlex.join(salt_call_argv("sendmail.status"))
    out = run_steps(
        tmp_path / "host",
        "smt-box",
        [
            ("server", server),
            ("queue", f"printf 'Subject: queued {after}\\n\\nhi\\n' | sendmail -Am -odq a@example.com"),
            ("to-client", killed.format(run=client, journal=JOURNAL)),
            ("client", client),
            ("flush", "sendmail -Ac -qf; sendmail -Am -qf; echo done"),
            ("as-client", status),
            ("to-server", killed.format(run=server, journal=JOURNAL)),
            ("server-again", server),
            ("as-server", status),
        ],
    )
    if after == KILL_POINTS[0]:  # surely mid-run: the journal says so until the next run
        assert "journal-left" in out["to-client"] and "journal-left" in out["to-server"]
    for name in ("server", "client", "server-again"):
        assert result_of(out[name])["result"] is True, (name, result_of(out[name])["comment"])
    for name, role in (("as-client", "client"), ("as-server", "server")):
        report = json.loads(out[name])["local"]
        assert report["role"] == role, (name, report["role"])
        assert report["interrupted_run"] is None
        assert [f["id"] for f in report["findings"] if f["severity"] == "high"] in (
            [],
            ["exposed-listener"],
        )
    # Wherever the kill fell, the queued message reached the relay: once, or twice when the kill
    # fell in the flush between the relay's 250 and sendmail's removal of its queue file (SMTP's
    # own rule, RFC 5321 6.1: a duplicate rather than a loss; seen once, at 0.2 s on Salt 3008).
    arrived = relay_subjects(relay)
    assert set(arrived) == {f"Subject: queued {after}"} and len(arrived) in (1, 2), arrived


# A relay's aliases file written by people: a comment and a name in Latin-1 (printf's octal).
LATIN1_ALIASES = "# Gr\\374\\337e aus K\\366ln\\nm\\374ller: mail\\npostmaster: root\\n"
# The aliases file the relay's cf names (Debian: /etc/mail/aliases, wherever its link leads).
ALIASES = "$(readlink -f /etc/mail/aliases)"
HEX = f"od -An -tx1 -v {ALIASES} | tr -d ' \\n'; echo"
TO_ROOT = (
    "printf 'Subject: for root\\n\\nhi\\n' | sendmail -oi root;"
    " for _ in $(seq 100); do grep -q 'Subject: for root' /var/mail/mail 2>/dev/null && break;"
    " sleep 0.2; done; grep -c 'Subject: for root' /var/mail/mail"
)


@pytest.mark.salt_line(3008)  # when both lines run at once
def test_a_latin1_aliases_file_keeps_its_bytes_through_a_run_a_failure_and_a_kill(relay, tmp_path):  # noqa: F811
    # The MSP queue made unusable: a run that restarts the daemons then fails, and puts back.
    failing = write_minion_config(tmp_path / "failing", sendmail={"lookup": {"services_timeout": 3}})
    server = {"relay_domains": ["example.com"], "aliases": {"root": "mail"}}
    changed = {"relay_domains": ["example.com", "example.org"], "aliases": {"root": "postmaster"}}
    out = run_steps(
        tmp_path / "host",
        "smt-box",
        [
            ("write", f"printf '{LATIN1_ALIASES}' >{ALIASES}; {HEX}"),
            ("server", state("sendmail.server", **server)),
            ("as-server", HEX),
            ("mail", TO_ROOT),
            ("block", "chmod 0000 /var/spool/mqueue-client"),
            ("failed", state("sendmail.server", config_dir=failing, **changed)),
            ("as-failed", HEX),
            ("unblock", "chmod 2770 /var/spool/mqueue-client"),
            ("killed", KILL.format(run=state("sendmail.server", **changed), journal=JOURNAL)),
            ("reblock", "chmod 0000 /var/spool/mqueue-client"),
            # The next run rolls forward from the killed run's journal, fails, and puts back the
            # files from before the killed run.
            ("healed", state("sendmail.server", config_dir=failing, **changed)),
            ("as-healed", HEX),
            ("open", "chmod 2770 /var/spool/mqueue-client"),
            ("again", state("sendmail.server", **server)),
            ("as-again", HEX),
        ],
    )
    original = bytes.fromhex(out["write"].strip())
    assert b"m\xfcller: mail" in original  # Latin-1, not UTF-8
    as_server = bytes.fromhex(out["as-server"].strip())
    ran = result_of(out["server"])
    assert ran["result"] is True, ran["comment"]
    # Every byte of the lines the site does not name stays; root's line is added.
    assert as_server == original + b"root: mail\n"
    assert "\ufffd" not in json.dumps(ran["changes"])  # nothing shown was mangled: root was new
    # root's mail reaches the person who reads it, through that file.
    assert out["mail"].strip() == "1"
    failed = result_of(out["failed"])
    assert failed["result"] is False and "put the previous files back" in failed["comment"]
    assert bytes.fromhex(out["as-failed"].strip()) == as_server
    assert "journal-left" in out["killed"]
    healed = result_of(out["healed"])
    assert healed["result"] is False and "rolled forward" in healed["comment"], healed["comment"]
    assert bytes.fromhex(out["as-healed"].strip()) == as_server
    again = result_of(out["again"])
    assert again["result"] is True, again["comment"]
    assert bytes.fromhex(out["as-again"].strip()) == as_server
