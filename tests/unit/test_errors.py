"""The errors submodule (saltext.sendmail.shared.errors): failures become CommandExecutionError once."""

import pytest
from salt.exceptions import CommandExecutionError

from saltext.sendmail.shared import errors


def fake_run(retcode, stdout="", stderr=""):
    calls = []

    def run(cmd, **kwargs):
        calls.append((cmd, kwargs))
        return {"retcode": retcode, "stdout": stdout, "stderr": stderr}

    return run, calls


def test_a_failed_command_names_what_failed_and_its_last_line():
    run, calls = fake_run(2, stderr="first\nupdate_conf: no such file\n")
    with pytest.raises(
        CommandExecutionError, match=r"^update_conf failed \(exit 2\): update_conf: no such file$"
    ):
        errors.run_checked(run, ["/usr/share/sendmail/update_conf"], "update_conf")
    # An argument list, never a shell.
    assert calls[0][1]["python_shell"] is False


def test_a_command_that_works_returns_its_result():
    run, _ = fake_run(0, stdout="ok")
    assert errors.run_checked(run, ["true"], "true")["stdout"] == "ok"


def test_os_errors_name_the_file(tmp_path):
    with (
        pytest.raises(CommandExecutionError, match=r"could not read: .*/missing: No such file"),
        errors.os_errors("could not read"),
    ):
        (tmp_path / "missing").read_text()
