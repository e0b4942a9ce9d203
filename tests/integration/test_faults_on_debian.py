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


@pytest.mark.parametrize("after", KILL_POINTS)
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
    # Wherever the kill fell, the queued message reached the relay, once.
    assert relay_subjects(relay) == [f"Subject: queued {after}"]
