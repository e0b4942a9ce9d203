"""
The fleet: a real salt-master and three real salt-minions, each minion a separate Debian sendmail
host. relay1-a is the relay (server role) of site-a; client-a is a client of site-a; client-b a
client of site-b, whose first relay (198.51.100.19) does not exist and whose second is relay1-a.
"""

import contextlib
import pathlib
import shutil
import tempfile

import pytest
import yaml

from tests.support.fleet import MASTER_ADDRESS, formula_roots, host_minion, minion_overrides
from tests.support.netns import NETWORK, linked_netns

# (minion id, netns, host number on 198.51.100.0/24, site)
MINIONS = (
    ("relay1-a", "smf-r1", 11, "site-a"),
    ("client-a", "smf-ca", 12, "site-a"),
    ("client-b", "smf-cb", 13, "site-b"),
)
HOSTS = (
    "127.0.0.1\tlocalhost\n"
    + "".join(f"{NETWORK}.{number}\t{name}.example.test {name}\n" for name, _, number, _ in MINIONS)
    # Mail for example.com waits in the relay's queue: the address has no route here.
    + "192.0.2.10\texample.com\n"
)
DOMAIN = "example.com"
# Seconds between the master's scheduled fleet reports.
FLEET_REPORT_SECONDS = 10
ALIAS = "mail@relay1-a.example.test"
COMMON_PILLAR = {
    "sendmail": {
        "site_grain": "site",
        "sites": {
            # Address literals: sendmail looks a [name] up with a trailing dot, which /etc/hosts
            # never matches (only DNS would), and these test hosts have no DNS.
            # Both sites' mail comes from example.com: root's (cron's) mail from every host goes to
            # ALIAS, the mailbox of the user "mail" on the relay, which is final for its own name.
            "site-a": {
                "relays": [f"[{NETWORK}.11]"],
                "relay_domains": ["example.com", NETWORK],
                "masquerade_as": DOMAIN,
                "aliases": {"root": ALIAS, "postmaster": ALIAS},
            },
            "site-b": {"relays": [f"[{NETWORK}.19]", f"[{NETWORK}.11]"], "masquerade_as": DOMAIN},
        },
        "msp_interval": "15m",
        # The test machine has the packages (scripts/setup.sh); pkg.installed would run apt-get
        # update on first use after a minion starts, which must not happen from a test.
        "lookup": {"pkgs": []},
    },
    # The patch-level job of pillar.example, sooner: Salt's scheduler has each minion ask its
    # package manager at its own moment (the splay); status only reads the answer.
    "schedule": {
        "sendmail-patch-level": {"function": "sendmail.patch_level", "seconds": 10, "splay": 5}
    },
}
PILLAR_TOP = {
    "base": {
        "*": ["sendmail.common"],
        "relay1-a": ["sendmail.relay"],
        "client-*": ["sendmail.client"],
        "client-b": ["sendmail.override"],
    }
}


class Pillar:
    """The master's pillar files; ``override`` holds what client-b gets on top of the rest."""

    def __init__(self, root):
        self.dir = root / "sendmail"
        self.dir.mkdir(parents=True)
        (root / "top.sls").write_text(yaml.safe_dump(PILLAR_TOP))
        self.write("common", COMMON_PILLAR)
        self.write("relay", {"sendmail": {"role": "server"}})
        self.write("client", {"sendmail": {"role": "client"}})
        self.write("override", {})

    def write(self, name, data):
        (self.dir / f"{name}.sls").write_text(yaml.safe_dump(data))


@pytest.fixture(scope="package")
def fleet(salt_factories):
    """
    The master, its CLI, the pillar and the minions by id, all started once for tests/fleet
    (test_fleet.py, then test_fleet_view.py); stopped after them, so that no host's daemons
    linger in the process list of the tests that follow.
    """
    work = tempfile.mkdtemp(prefix="smf-", dir="/tmp")
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        for _, netns, number, _ in MINIONS:
            stack.enter_context(linked_netns(netns, number))
        pillar_root = tempfile.mkdtemp(prefix="pillar-", dir=work)
        pillar = Pillar(pathlib.Path(pillar_root))
        # The master's node_exporter directory, kept by its schedule (docs: metrics).
        master_textfile = pathlib.Path(work, "master-textfile")
        master_textfile.mkdir()
        master = salt_factories.salt_master_daemon(
            "sm-master",
            overrides={
                "interface": MASTER_ADDRESS,
                "file_roots": {"base": [str(formula_roots(f"{work}/formula"))]},
                "pillar_roots": {"base": [pillar_root]},
                # The drift reactor of the formula (docs: the fleet view).
                "reactor": [{"salt/beacon/*/sendmail/": ["salt://reactor/sendmail-drift.sls"]}],
                # The fleet's metrics refreshed by the master's own schedule, as docs/topics/metrics.md
                # shows it, sooner (that says 5 minutes). The job finds the runner once
                # test_fleet_view.py has synced it to the master.
                "schedule": {
                    "sendmail-fleet-metrics": {
                        "function": "sendmail.report",
                        "seconds": FLEET_REPORT_SECONDS,
                        "kwargs": {"textfile_dir": str(master_textfile)},
                    }
                },
            },
        )
        stack.enter_context(master.started(start_timeout=120))
        minions = {}
        for minion_id, netns, _, site in MINIONS:
            minion = host_minion(master, work, minion_id, netns, HOSTS, minion_overrides(site))
            stack.enter_context(minion.started(start_timeout=120))
            minions[minion_id] = minion
        yield {
            "master": master,
            "cli": master.salt_cli(timeout=300),
            "pillar": pillar,
            "master_textfile": master_textfile,
            **minions,
        }


# A changelog of sendmail's Debian package as a distribution that has not backported the
# SMTP-smuggling fix would have it (Debian's own names CVE-2023-51765): the relay's lookup
# reads it instead, so its sendmail 8.17 lacks that fix (finding advisory-open, high on a relay).
UNFIXED_CHANGELOG = "/var/lib/sendmail/unfixed-changelog.Debian.gz"


@pytest.fixture
def relay_lacking_a_fix(fleet):
    """relay1-a with an advisory open, then as it was."""
    relay = fleet["relay1-a"]
    relay.host(
        "sh",
        "-c",
        "printf 'sendmail (8.17.1.9-2) bookworm; urgency=medium\\n\\n  * New upstream.\\n' "
        f"| gzip >{UNFIXED_CHANGELOG}",
    )
    fleet["pillar"].write(
        "relay", {"sendmail": {"role": "server", "lookup": {"package_changelog": UNFIXED_CHANGELOG}}}
    )
    fleet["cli"].run("saltutil.refresh_pillar", "wait=True", minion_tgt="relay1-a")
    fleet["cli"].run("sendmail.patch_level", "refresh=True", minion_tgt="relay1-a")
    yield relay
    fleet["pillar"].write("relay", {"sendmail": {"role": "server"}})
    fleet["cli"].run("saltutil.refresh_pillar", "wait=True", minion_tgt="relay1-a")
    fleet["cli"].run("sendmail.patch_level", "refresh=True", minion_tgt="relay1-a")
    relay.host("rm", "-f", UNFIXED_CHANGELOG)
