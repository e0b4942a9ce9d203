"""
DKIM signing on the fleet of conftest.py, last (after the other fleet tests; it puts the relay back):
site-a's pillar gains ``dkim``, the formula's highstate on relay1-a makes the relay's key with the
real opendkim-genkey and sets up OpenDKIM (Debian's, from .cache/lab, started in the relay's host),
a client's mail to root reaches the alias's mailbox signed, and the master's report lists the
records to publish and, against a DNS server that has none of them, puts the relay at risk. The
private key's bytes are then looked for in everything Salt keeps or says: every job return and
event of the test, the master's job cache, pillar, and the master's and minions' logs.
"""

import json
import pathlib
import time
import uuid

import pytest
import yaml

from tests.fleet.conftest import COMMON_PILLAR, DOMAIN
from tests.fleet.test_fleet import queues, wait_for
from tests.fleet.test_local_mail import mailbox
from tests.support import lab
from tests.support.netns import NETWORK, linked_netns

DNS = 57
# In the host's own /etc/mail (Debian's /etc/dkimkeys is this machine's: never written by a test).
KEYS_DIR = "/etc/mail/dkimkeys"
CONF = "/etc/mail/opendkim.conf"
OPENDKIM = f"{lab.LAB}/usr/sbin/opendkim"


def _conf():
    """Debian's opendkim.conf with the relay host's own socket and pid file (no UserID: root)."""
    vendor = (lab.LAB / "etc" / "opendkim.conf").read_text()
    kept = [
        line
        for line in vendor.splitlines()
        if line.split()[:1] not in (["Socket"], ["PidFile"], ["UserID"], ["TrustAnchorFile"])
    ]
    # The keys sit in the host's own /etc/mail, which Debian gives smmta: OpenDKIM's check that no
    # other user owns a directory above a key (Debian's /etc/dkimkeys passes it) is off here.
    ours = ["Socket inet:8891@127.0.0.1", "PidFile /run/sendmail/opendkim.pid", "RequireSafeKeys false"]
    return "\n".join([*kept, *ours, ""])


@pytest.fixture
def signing_relay(fleet):
    relay, pillar = fleet["relay1-a"], fleet["pillar"]
    relay.host("sh", "-c", f"cat > {CONF}", input_text=_conf())
    common = yaml.safe_load(yaml.safe_dump(COMMON_PILLAR))
    common["sendmail"]["sites"]["site-a"]["dkim"] = {"selector": "s1"}
    pillar.write("common", common)
    lookup = {
        "dkim_conf": CONF,
        "dkim_keys_dir": KEYS_DIR,
        "dkim_user": "root",
        "dkim_service": None,
        "dkim_genkey": f"{lab.LAB}/usr/sbin/opendkim-genkey",
        "dkim_pkgs": [],  # OpenDKIM from .cache/lab: apt must not run from a test
    }
    pillar.write("relay", {"sendmail": {"role": "server", "lookup": lookup}})
    fleet["cli"].run("saltutil.refresh_pillar", "wait=True", minion_tgt="*")
    yield relay
    relay.host("sh", "-c", "kill $(cat /run/sendmail/opendkim.pid) 2>/dev/null; true")
    pillar.write("common", COMMON_PILLAR)
    pillar.write("relay", {"sendmail": {"role": "server"}})
    fleet["cli"].run("saltutil.refresh_pillar", "wait=True", minion_tgt="*")
    # The relay as it was: its cf without the milter.
    assert fleet["cli"].run("state.apply", "sendmail", minion_tgt="relay1-a").returncode == 0
    relay.host("rm", "-rf", KEYS_DIR, CONF)


def test_a_relay_signs_its_sites_mail_and_its_key_appears_nowhere_salt_keeps(
    fleet, signing_relay, event_listener
):
    started = time.time()
    cli = fleet["cli"]
    fleet["master"].salt_run_cli(timeout=120).run("saltutil.sync_all")  # the report's runner
    test_run = cli.run("state.apply", "sendmail", "test=True", minion_tgt="relay1-a")
    assert "would make the DKIM keys of s1-relay1-a._domainkey.example.com" in test_run.stdout
    assert signing_relay.host("ls", "-A", KEYS_DIR, check=False) == ""  # test mode made nothing
    applied = cli.run("state.apply", "sendmail", minion_tgt="relay1-a")
    assert applied.returncode == 0, applied.stdout
    assert "made the DKIM keys of s1-relay1-a._domainkey.example.com" in applied.stdout
    private = f"{KEYS_DIR}/{DOMAIN}/s1-relay1-a.private"
    assert signing_relay.host("stat", "-c", "%a", private).strip() == "600"
    signing_relay.host("env", f"LD_LIBRARY_PATH={lab.LIBS}", OPENDKIM, "-x", CONF)
    assert wait_for(lambda: "8891" in signing_relay.host("ss", "-ltn"), timeout=10)

    # A client's mail to root goes through the relay and reaches the alias signed by it.
    marker = f"signed-{uuid.uuid4().hex[:8]}"
    fleet["client-a"].host("sendmail", "root", input_text=f"Subject: {marker}\n\nnightly\n")
    assert wait_for(lambda: marker in mailbox(fleet), timeout=90), queues(fleet)
    message = mailbox(fleet).split(marker)[0].rsplit("\nFrom ", 1)[-1]
    assert "DKIM-Signature:" in message and f"d={DOMAIN}" in message and "s=s1-relay1-a" in message

    # The report lists what site-a must publish; a DNS with none of it puts the relay at risk.
    with (
        linked_netns("smf-dns", DNS),
        lab.zone_dns(
            pathlib.Path(fleet["master"].config["root_dir"]) / "dns",
            "smf-dns",
            f"{NETWORK}.{DNS}",
            DOMAIN,
            "",
        ),
    ):
        report = (
            fleet["master"]
            .salt_run_cli(timeout=120)
            .run("sendmail.report", f"dns_servers=['{NETWORK}.{DNS}']", "--out=json")
        )
    data = json.loads(report.stdout)
    records = data["records"]["site-a"]["records"]
    assert [r["name"] for r in records] == [
        "s1-relay1-a._domainkey.example.com",
        "example.com",
        "_dmarc.example.com",
    ]
    assert "relay1-a" in data["summary"]["at_risk"]
    found = [f["id"] for f in data["minions"]["relay1-a"]["findings"]]
    assert found == ["dkim-record-missing", "spf-relay-not-allowed", "dmarc-missing"]

    # The key's bytes (its base64 body, in 40-character pieces) are nowhere Salt keeps or says.
    pem = signing_relay.host("cat", private)
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    assert len(body) > 1000
    pieces = [body[start : start + 40] for start in range(0, len(body) - 40, 40)]
    said = [test_run.stdout, applied.stdout, report.stdout]
    said.append(cli.run("pillar.items", minion_tgt="relay1-a").stdout)
    said.append(cli.run("sendmail.status", minion_tgt="relay1-a").stdout)
    said.append(cli.run("sendmail_dkim.keys", minion_tgt="relay1-a").stdout)
    events = event_listener.get_events([(fleet["master"].id, "*")], after_time=started)
    assert len(events) > 10  # the jobs' and the beacons' events of the test
    said += [json.dumps({"tag": event.tag, "data": event.data}, default=str) for event in events]
    master_root = pathlib.Path(fleet["master"].config["root_dir"])
    kept = [path for path in master_root.rglob("*") if path.is_file() and "dns" not in path.parts]
    for minion in ("relay1-a", "client-a", "client-b"):
        kept += [pathlib.Path(fleet[minion].config["log_file"])]
        kept += [p for p in pathlib.Path(fleet[minion].config["cachedir"]).rglob("*") if p.is_file()]
    for path in kept:
        said.append(path.read_bytes().decode("utf-8", "replace"))
    leaks = [piece for piece in pieces for text in said if piece in text]
    assert leaks == []
