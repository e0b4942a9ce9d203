"""
Hosts whose MTA is not sendmail, under the formula (docs, "The formula and its pillar"): real Debian
12 hosts with postfix or exim installed over sendmail (scripts/rootfs.sh), sendmail's own packages
installable from apt's cache, a real systemd running their MTA. A top file gives them the
``sendmail`` formula with the default package list, as a fleet's ``'*'`` would: the highstate
succeeds, says why it does nothing, and the host's packages, mail files and mail flow stay as they
were.
"""

import json
import shutil
import tempfile
import time

import pytest
import yaml

from tests.support.snapshot import snapshot_command
from tests.support.systemd_host import REPO, RUN_TAG, SALT_DIR, SystemdHost

# The files an MTA's install or removal, or a role run, would touch.
WATCHED = (
    "/var/lib/dpkg/status",
    "/etc/mail",
    "/etc/postfix",
    "/etc/exim4",
    "/etc/aliases",
    "/etc/mailname",
    "/etc/cron.d",
    "/var/spool/cron/crontabs",
)
PILLAR = {
    "sendmail": {
        "role": "client",
        "site": "paris",
        "sites": {"paris": {"relays": ["[198.51.100.11]"], "relay_domains": ["example.test"]}},
    }
}
MTAS = {"postfix": "debian12-postfix", "exim": "debian12-exim"}


@pytest.fixture(params=sorted(MTAS))
def other_mta_host(request):
    """A booted Debian 12 host whose MTA is postfix or exim, with the formula and pillar in place."""
    work = tempfile.mkdtemp(prefix="smh-", dir="/tmp")
    name = f"smh-{request.param}-{RUN_TAG}"
    host = SystemdHost(name, work, "mx.example.test", release=MTAS[request.param])
    try:
        host.write(f"{SALT_DIR}/states/top.sls", yaml.safe_dump({"base": {"*": ["sendmail"]}}))
        host.write(f"{SALT_DIR}/pillar/top.sls", yaml.safe_dump({"base": {"*": ["sendmail"]}}))
        host.write(f"{SALT_DIR}/pillar/sendmail.sls", yaml.safe_dump(PILLAR))
        host.configure_salt(
            file_roots={"base": [f"{SALT_DIR}/states", str(REPO / "salt")]},
            pillar_roots={"base": [f"{SALT_DIR}/pillar"]},
        )
        host.boot()
        yield request.param, host
    finally:
        host.destroy()
        shutil.rmtree(work, ignore_errors=True)


def watched(host):
    return json.loads(host.sh(snapshot_command(*WATCHED, python=host.salt_bin / "python")))


def packages(host):
    return host.sh("dpkg-query -W -f '${Package} ${Status}\\n' | grep 'install ok installed' | sort")


def deliver(host, subject):
    """A message to the local user "mail" through the host's own sendmail binary, read back from
    the mailbox that user reads: how many times it arrived (up to 30 s)."""
    host.run("/usr/sbin/sendmail", "-oi", "mail", input_text=f"Subject: {subject}\n\nhello\n")
    count = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        box = host.sh("cat /var/mail/mail 2>/dev/null || true")
        count = box.count(f"Subject: {subject}")
        if count:
            break
        time.sleep(0.5)
    return count


def test_the_formula_leaves_a_host_whose_mta_is_not_sendmail_as_it_was(other_mta_host):
    mta, host = other_mta_host
    assert host.salt_call("sendmail.version")["provider"] == mta
    assert "sendmail-bin" not in packages(host)
    # The formula's default package list is Debian's; installing it would remove the MTA.
    assert host.salt_call("sendmail.lookup")["pkgs"] == [
        "sendmail-bin",
        "sendmail-cf",
        "m4",
        "sensible-mda",
    ]
    assert host.salt_call("sendmail.packages") == []
    assert deliver(host, "before the highstate") == 1
    before, installed = watched(host), packages(host)
    for test in (True, False, False):
        applied = host.salt_call("state.apply", *(["test=True"] if test else []), states=True)
        # The package step is not there at all; the role state succeeds and says why.
        assert [ret["__id__"] for ret in applied.values()] == ["sendmail-init-sendmail-role"]
        [ret] = applied.values()
        assert ret["result"] is True and ret["changes"] == {}, ret
        assert ret["comment"] == f"the MTA here is {mta}: left alone, nothing changed"
    assert watched(host) == before
    assert packages(host) == installed
    assert host.salt_call("sendmail.version")["provider"] == mta
    # The host's own MTA still delivers: a message to a local user, once.
    assert deliver(host, "after the highstate") == 1
    # The fleet view agrees: not sendmail, so not drift.
    assert host.salt_call("sendmail.compliance")["verdict"] == "not_sendmail"
