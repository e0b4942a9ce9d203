"""
The rolling patch's lease on a relay (``salt-run sendmail.patch_relays`` takes it on each relay of a
site before it takes one out of service: docs, "Patching the relays"). It hands Salt's dunders to
:mod:`saltext.sendmail.shared.patch_lease`; the file is ``sendmail.lookup``'s ``patch_lease_file``.
"""

import time

try:  # now, while Salt loads this file: only then is _utils on the path (shared's docstring)
    from saltext.sendmail import shared
except ImportError as err:  # _utils not synced (saltutil.sync_modules alone), or not installed
    shared, MISSING = None, str(err)
else:
    shared = shared.fresh()

__virtualname__ = "sendmail_patch"


def __virtual__():
    if shared is None:
        return False, f"saltext.sendmail.shared is missing ({MISSING}): run saltutil.sync_all"
    return __virtualname__


def lease(holder, seconds=0):
    """
    Take this relay's patch lease for ``seconds`` as ``holder`` (a patch run's name), renew it, or
    give it back (``seconds`` 0, only the holder's). Returns ``granted``, and the lease's ``holder``
    and ``expires`` (Unix time) as they are now: another run's when not granted.

    holder
        The patch run taking it (the runner names itself: its master, process and start).
    seconds
        How long it holds unless given back (a run that died lets go at the end); 0 gives it back.

    CLI Example:

    .. code-block:: bash

        salt relay1 sendmail_patch.lease holder='by hand' seconds=3600
        salt relay1 sendmail_patch.lease holder='by hand'
    """
    from saltext.sendmail.shared import patch_lease

    path = __salt__["sendmail.lookup"]()["patch_lease_file"]
    return patch_lease.take(path, holder, seconds, time.time())
