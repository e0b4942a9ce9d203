"""
The client role with STARTTLS and AUTH to a relay that requires both (tests/support/tls_relay.py),
applied by salt-call on a private Debian host (scripts/host-run) on 198.51.100.33: the password from
the state's arguments reaches the relay and no output, log or other file; a wrong one keeps mail
queued, and status says why.
"""

import base64
import json
import shlex

import pytest

from tests.integration.test_roles_on_debian import result_of, run_steps, state
from tests.support.saltcall import salt_call_argv, write_minion_config
from tests.support.tls_relay import CLIENT, PASSWORD, RELAY, USER

WRONG = "Wrong-but-long-enough"
# The relay's greeting names it tests.example.test (the test run's hostname): the client looks that
# name up, and without an answer the message waits ("Name server: ...: host name lookup failure").
NAME_THE_RELAY = ("hosts", f"echo '{RELAY} tests.example.test' >> /etc/hosts")
# The role has just (re)started the MSP queue runner, which runs the queue at once: a message it holds
# locked, `-qf` skips. So the client's queue is given up to 10 s to empty, by either of them (a CI run
# once counted the qf file the runner was still sending).
FLUSH = (
    "sendmail -Ac -qf; for _ in $(seq 100); do ls /var/spool/mqueue-client | grep -q ^qf || break;"
    " sleep 0.1; done; ls /var/spool/mqueue-client | grep -c ^qf || true"
)
SECRET_FORMS = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(), WRONG]


def pillar_config(directory, password, ca):
    """A salt-call config dir whose pillar makes the minion a client of the relay with STARTTLS and AUTH."""
    site = {
        "relays": [f"[{RELAY}]"],
        "tls": {"ca": ca, "require": True},
        "auth": {"user": USER, "password": password},
    }
    pillar = {"sendmail": {"role": "client", "site": "paris", "sites": {"paris": site}}}
    (directory / "pillar").mkdir(parents=True)
    (directory / "pillar" / "top.sls").write_text(json.dumps({"base": {"*": ["sendmail"]}}))
    (directory / "pillar" / "sendmail.sls").write_text(json.dumps(pillar))
    return write_minion_config(directory, pillar_roots={"base": [str(directory / "pillar")]})


def role_state(config_dir, test=False):
    """sendmail.role as the formula applies it (the pillar's role), with Salt's debug log on the console."""
    command = state("sendmail.role", config_dir=config_dir, test=test)
    return command.replace("--out=json", "--out=json -l debug") + " 2>&1"


def output_json(text):
    """salt-call's JSON answer, after the debug log lines."""
    return text[text.index('{\n    "local"') :]


@pytest.mark.salt_line(3006)  # when both lines run at once (sendmail's hop, not Salt's)
def test_client_with_starttls_and_auth_through_a_relay_requiring_both(tls_relay, tmp_path):
    ca = tls_relay.pki.ca.read_text()
    # The pillar lives outside the host (on a master, in real life).
    right = pillar_config(tmp_path / "right", PASSWORD, ca)
    wrong = pillar_config(tmp_path / "wrong", WRONG, ca)
    submit = "printf 'Subject: t\\n\\nhi\\n' | sendmail -Ac -odq x@example.org && sendmail -Ac -qf"
    status = shlex.join(salt_call_argv("sendmail.status"))
    host = tmp_path / "host"
    netns = f"smt-tls{CLIENT}"
    out = run_steps(
        host,
        netns,
        [
            NAME_THE_RELAY,
            ("predict", role_state(right, test=True)),
            ("apply", role_state(right)),
            ("again", role_state(right)),
            ("map", "stat -c '%a %U %G' /etc/mail/salt-authinfo.db"),
            ("send", submit),
            (
                "holders",
                f"grep -rlF -e {shlex.quote(PASSWORD)} -e {SECRET_FORMS[1]} /etc /var/spool /var/log /root"
                " 2>/dev/null || true",
            ),
        ],
    )
    delivered = [len(tls_relay.world.queued_ids("mta"))]
    out.update(
        run_steps(
            host,
            netns,
            [
                NAME_THE_RELAY,
                ("wrong", role_state(wrong)),
                ("send-wrong", submit),
                ("status", status),
            ],
        )
    )
    delivered.append(len(tls_relay.world.queued_ids("mta")))
    out.update(
        run_steps(
            host,
            netns,
            [
                NAME_THE_RELAY,
                ("right", role_state(right)),
                ("flush", FLUSH),
            ],
        )
    )
    delivered.append(len(tls_relay.world.queued_ids("mta")))
    # Through STARTTLS and AUTH; the second message waits while the password is wrong; then goes.
    assert delivered == [1, 1, 2], out["status"]
    for name, text in out.items():
        for secret in SECRET_FORMS:
            assert secret not in text, f"a secret in the output of {name}"
    predicted = result_of(output_json(out["predict"]))
    assert predicted["result"] is None
    assert predicted["changes"]["/etc/mail/salt-authinfo.db"] == {
        "old": None,
        "new": f"authinfo for user {USER}, password ********",
    }
    applied = result_of(output_json(out["apply"]))
    assert applied["result"] is True, applied["comment"]
    again = result_of(output_json(out["again"]))
    assert (again["result"], again["changes"]) == (True, {})
    assert out["map"].split() == ["640", "root", "smmsp"]
    # The map alone holds the password (in base64): no file under /etc, the queues, logs, /root.
    assert out["holders"].split() == ["/etc/mail/salt-authinfo.db"]

    wrong = result_of(output_json(out["wrong"]))
    assert wrong["changes"]["/etc/mail/salt-authinfo.db"]["new"].endswith("(password changed)")
    report = json.loads(out["status"])["local"]
    [finding] = [f for f in report["findings"] if f["id"] == "queue-deferred"]
    # The reason is sendmail's own last error of the message. Here it reads "Name server: ...: host
    # name lookup failure": this host's resolver (unreachable from the test network) left TRY_AGAIN
    # in h_errno, which sendmail prefers for the message. tests/functional/test_relay_tls_auth.py
    # shows the "no AUTH with the relay" reason where no lookup is pending.
    assert finding["message"].startswith("1 message(s) wait in the MSP queue; the oldest because: ")
    assert out["flush"].strip().splitlines()[-1] == "0"
