"""
The shape every writing step of the role states shares (``build_cf``, ``credentials``,
``aliases``, ``switch``): plan first, writing nothing (what test mode returns), then write only
what the plan says, and name what failed.
"""

from . import errors


def plan_then_write(what, plan, changes, write, test):
    """
    ``plan()`` writes nothing and returns the plan; then, when ``changes(planned)`` is not empty
    and not in ``test`` mode, ``write(planned)``. An OSError in either becomes a
    CommandExecutionError naming ``what`` ("could not set the aliases: ..."). Returns the plan and
    what ``write`` returned (None when it did not run).
    """
    with errors.os_errors(what):
        planned = plan()
        return planned, (write(planned) if changes(planned) and not test else None)
