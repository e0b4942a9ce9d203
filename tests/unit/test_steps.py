"""The plan-then-write shape of the writing steps (saltext.sendmail.shared.steps)."""

import pytest
from salt.exceptions import CommandExecutionError

from saltext.sendmail.shared import steps


def _step(planned, test, written):
    return steps.plan_then_write(
        "could not set the aliases",
        lambda: planned,
        lambda plan: plan["writes"],
        lambda plan: written.append(plan) or ["/etc/aliases"],
        test,
    )


@pytest.mark.parametrize("test", [True, False])
def test_a_change_is_written_only_outside_test_mode(test):
    written = []
    planned = {"writes": {"/etc/aliases": "root: ops@example.com\n"}}
    assert _step(planned, test, written) == (planned, None if test else ["/etc/aliases"])
    assert written == ([] if test else [planned])


def test_nothing_to_change_writes_nothing():
    written = []
    assert _step({"writes": {}}, False, written) == ({"writes": {}}, None)
    assert written == []


def test_a_file_system_error_names_the_step_and_the_file():
    def write(plan):
        raise PermissionError(13, "Permission denied", "/etc/aliases")

    with pytest.raises(
        CommandExecutionError, match="could not set the aliases: /etc/aliases: Permission denied"
    ):
        steps.plan_then_write("could not set the aliases", lambda: {"w": 1}, bool, write, False)
