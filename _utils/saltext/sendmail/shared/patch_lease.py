"""
The rolling patch's lease on a relay: one file per host (``lookup:patch_lease_file``) naming the
patch run that holds it and until when. A run takes the lease on every relay of a site, in the
order of their minion ids, before it takes one of them out of service, and gives them back after:
two runs started at once (from two masters, or twice from one) never have two relays of one site
out at the same time; the second waits. The relays hold it, not a master: they are what both runs
share. A lease whose run died ends at its expiry.
"""

import fcntl
import json
import os

from salt.exceptions import SaltInvocationError

from . import errors


def take(path, holder, seconds, now):
    """
    Take (or renew) the lease for ``seconds`` as ``holder``, or give it back (``seconds`` 0).
    Returns ``granted`` and the ``holder`` and ``expires`` it has now (another run's: not granted).
    """
    if not isinstance(holder, str) or not holder.strip():
        raise SaltInvocationError(f"holder: {holder!r} is not a name of a patch run")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise SaltInvocationError(f"seconds: {seconds!r} is not a number of seconds (0 gives it back)")
    with errors.os_errors("could not take the patch lease"):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # one taker at a time on this host
            handle.seek(0)
            try:
                current = json.loads(handle.read() or "null")
            except ValueError:
                current = None  # a torn or foreign file: no lease
            if current and current.get("holder") != holder and current.get("expires", 0) > now:
                return {"granted": False, "holder": current["holder"], "expires": current["expires"]}
            held = {"holder": holder, "expires": now + seconds} if seconds else None
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(held))
            handle.flush()
            os.fsync(handle.fileno())
    return {"granted": True, **(held or {"holder": None, "expires": None})}


# Seconds between two tries at a site's leases while another run holds one of them.
WAIT_EVERY = 5


class Site:
    """
    The runner's side: the leases of every relay of a site (``minions``, taken in sorted order so
    two runs never hold half each), through ``call(minion, function, args)`` -> (ok, returned).
    """

    def __init__(self, call, minions, holder, seconds):
        self.call, self.minions, self.holder = call, sorted(minions), holder
        self.seconds, self.taken = seconds, []

    def take(self, timeout, progress, sleep):
        """Wait (up to ``timeout`` s) until every lease is this run's. Returns (taken, why not)."""
        waited = 0.0
        while True:
            other = self._take_all()
            if other is None:
                return True, ""
            self.give_back()
            if waited >= timeout:
                return False, f"{other}, for {waited:.0f} s"
            progress(f"waiting: {other}")
            sleep(WAIT_EVERY)
            waited += WAIT_EVERY

    def _take_all(self):
        for minion in self.minions:
            ok, ret = self.call(minion, "sendmail_patch.lease", [self.holder, self.seconds])
            if not ok or not isinstance(ret, dict):
                return f"{minion} did not give its patch lease ({str(ret)[:200]})"
            if not ret["granted"]:
                return f"{minion}'s patch lease is held by {ret['holder']}"
            self.taken.append(minion)
        return None

    def give_back(self):
        """Give back what this run holds (a relay that does not answer lets go at the expiry)."""
        for minion in reversed(self.taken):
            self.call(minion, "sendmail_patch.lease", [self.holder, 0])
        self.taken = []
