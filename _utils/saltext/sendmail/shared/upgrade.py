"""
The upgrade of the packages that provide sendmail on a relay (``sendmail.upgrade``, which
``salt-run sendmail.patch_relays`` calls): Salt's ``pkg.install`` at one version, with the
vendor's own restart of sendmail held back where the vendor lets a host say so (Debian: the
policy-rc.d that invoke-rc.d and deb-systemd-invoke ask before they start or restart a service),
so that the relay is out of service once, when its MTA restarts after the role (the runner makes
sure it does). Red Hat's rpm scriptlets restart with systemctl, which asks no such hook: there the
package's restart stays (docs, "Patching the relays").
"""

import contextlib
import os

from salt.exceptions import SaltInvocationError

from . import files

MARKER = "saltext-sendmail: sendmail's own restart held back during its upgrade"
KEPT = ".saltext-sendmail-kept"


def policy_script(kept):
    """
    The policy-rc.d that forbids (101) starting or restarting sendmail and asks the host's own
    policy, kept at ``kept`` (None: there was none, everything else is allowed), for the rest.
    """
    rest = f'exec "{kept}" "$@"' if kept else "exit 0"
    return (
        f"#!/bin/sh\n# {MARKER}: removed after it.\n"
        'case "$1" in sendmail|sendmail.service) exit 101 ;; esac\n'
        f"{rest}\n"
    )


def _put_back(policy_path):
    """The host's own policy-rc.d as it was (also after a run killed while ours was in place)."""
    kept = policy_path + KEPT
    if os.path.exists(kept):
        os.replace(kept, policy_path)
        return
    with contextlib.suppress(FileNotFoundError):
        with open(policy_path, encoding="utf-8", errors="replace") as handle:
            ours = MARKER in handle.read()
        if ours:
            os.unlink(policy_path)


@contextlib.contextmanager
def restarts_held(policy_path):
    """Within it, the vendor's scripts do not restart sendmail (``policy_path`` None: no hook)."""
    if not policy_path:
        yield False
        return
    _put_back(policy_path)  # a policy of ours left by a killed run goes first
    kept = None
    if os.path.exists(policy_path):
        kept = policy_path + KEPT
        os.link(policy_path, kept)
    try:
        tmp = files.write_temp(policy_path, policy_script(kept))
        os.chmod(tmp, 0o755)
        files.install(tmp, policy_path, backup=False)
        yield True
    finally:
        _put_back(policy_path)


def install(salt, lookup, packages, version):
    """``pkg.install`` of ``packages`` at ``version``, the vendor's restart held back: its return."""
    if (
        not isinstance(packages, list)
        or not packages
        or not all(isinstance(name, str) and name for name in packages)
    ):
        raise SaltInvocationError(f"packages: {packages!r} is not a list of package names")
    if not isinstance(version, str) or not version:
        raise SaltInvocationError(f"version: {version!r} is not a package version")
    with restarts_held(lookup.get("policy_rc_d")) as held:
        changes = salt["pkg.install"](pkgs=[{name: version} for name in packages])
    return {"changes": changes, "restart_held": held}
