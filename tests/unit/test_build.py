"""The build submodule (saltext.sendmail.shared.build): requests checked, built cfs read back."""

import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import build, cf

MSP_CF = "O DaemonPortOptions=Name=NoMTA, Addr=127.0.0.1, M=E\nD{MTAHost}[relay.example.com]\nMlocal, P=/x, A=x\nMrelay, P=[IPC], A=TCP $h\n"


def test_a_request_refuses_server_values_for_a_client():
    with pytest.raises(SaltInvocationError, match="relay_domains: only a server"):
        build.request("msp", "[relay.example.com]", relay_domains=["example.com"])


def test_a_built_submit_cf_reads_back_its_relay_and_port():
    parsed = cf.parse(MSP_CF)
    assert build.check_built("msp", parsed, ["[relay.example.com]"]) == []
    [problem] = build.check_built("msp", parsed, ["[other.example.com]"])
    assert problem == "D{MTAHost} is '[relay.example.com]', not '[other.example.com]'"
    assert build.check_built("msp", parsed, ["[relay.example.com]"], port=587) == [
        "the relay mailer does not use port 587"
    ]


def test_an_injected_listener_in_a_submit_cf_is_caught():
    parsed = cf.parse(MSP_CF + "O DaemonPortOptions=Name=MTA, Addr=0.0.0.0\n")
    assert any(
        "submit.cf would listen" in p for p in build.check_built("msp", parsed, ["[relay.example.com]"])
    )


def test_the_diff_is_cut_after_its_limit():
    old = "".join(f"line {n}\n" for n in range(500))
    text = build.diff(old, "")
    assert text.splitlines()[-1] == f"... {500 + 3 - build.DIFF_LINES} more diff lines"
