"""
Failures from outside Python's control, turned into Salt's CommandExecutionError once, naming
what failed: a command run through Salt's ``cmd.run_all`` (passed in as ``run``: argument lists,
never a shell, with a timeout and a checked return code) and the file system's OSError.
"""

import contextlib

from salt.exceptions import CommandExecutionError


def run_checked(run, cmd, what, timeout=120, stdin=None):
    """Run ``cmd``; raise CommandExecutionError naming ``what`` and its last line when it fails."""
    ret = run(
        cmd,
        python_shell=False,
        timeout=timeout,
        ignore_retcode=True,
        output_loglevel="quiet",
        stdin=stdin,
    )
    if ret["retcode"] != 0:
        detail = (ret["stderr"] or ret["stdout"]).strip().splitlines()[-1:] or ["no output"]
        raise CommandExecutionError(f"{what} failed (exit {ret['retcode']}): {detail[0]}")
    return ret


@contextlib.contextmanager
def os_errors(what):
    """Errors from the file system become CommandExecutionError here, once, naming the file."""
    try:
        yield
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        raise CommandExecutionError(f"{what}: {where}{err.strerror or err}") from err
