"""
DKIM signing on a relay, for real: the module sets up OpenDKIM (Debian's, from .cache/lab) with a
key opendkim-genkey makes, the relay's cf names it as a milter (F=T), and a client's message, sent
from the site's host (198.51.100.31) by its MSP with the site's domain, goes through the relay to a
second host, whose local mailer writes it to a mailbox file. There dkimpy verifies the signature
with the key NSD serves (in a namespace of its own) from the record the report lists. The report's
DNS findings are checked against the same NSD with records missing, wrong and right.
"""

import base64
import pathlib
import re
import subprocess
import types

import dkim as dkimpy
import dns.resolver
import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import dkim, dns_records
from tests.conftest import world_maker
from tests.functional.conftest import ModuleProxy
from tests.support import lab
from tests.support.mounts import Mounts
from tests.support.netns import NETWORK, bridge, linked_netns
from tests.support.snapshot import snapshot

RELAY, PARTNER, SITE, DNS, CASES_DNS = f"{NETWORK}.1", "127.0.0.2", 31, 54, 55
DOMAIN = "example.com"
MILTER_PORT = 8893


def _partner_mc(mailbox_dir, deliver, aliases):
    return (
        "define(`confDOMAIN_NAME', `partner.example.test')dnl\n"
        f"define(`ALIAS_FILE', `{aliases}')dnl\n"
        f"define(`LOCAL_MAILER_PATH', `{deliver}')dnl\n"
        "define(`LOCAL_MAILER_ARGS', `deliver $u')dnl\n"
        "LOCAL_DOMAIN(`example.net')dnl\n"
    )


def _zone_records(records):
    """The zone file lines of the records (names under example.com) as the report lists them."""
    return "".join(lab.txt_line(record["name"], record["strings"]) for record in records)


@pytest.fixture(scope="module")
def signing_site(load, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("dkim")
    bridge()
    mounts = Mounts()
    # OpenDKIM's own configuration as Debian ships it, with the lab's socket and pid file and no
    # UserID (the tests run as root): the role adds the signing keywords to it.
    conf = tmp_path / "opendkim.conf"
    vendor = (lab.LAB / "etc" / "opendkim.conf").read_text()
    conf.write_text(
        "".join(
            line + "\n"
            for line in vendor.splitlines()
            if line.split()[:1] not in (["Socket"], ["PidFile"], ["UserID"], ["TrustAnchorFile"])
        )
        + f"Socket\tinet:{MILTER_PORT}@127.0.0.1\nPidFile\t{tmp_path}/opendkim.pid\n"
        # The key sits under /tmp (world-writable) here, which OpenDKIM's safety check refuses.
        + "RequireSafeKeys\tfalse\n"
    )
    mailboxes = tmp_path / "mailboxes"
    mailboxes.mkdir()
    mailboxes.chmod(0o1777)  # whichever user the local mailer runs as
    deliver = tmp_path / "deliver"
    deliver.write_text(f'#!/bin/sh\ncat >> "{mailboxes}/$1"\n')
    deliver.chmod(0o755)
    aliases = tmp_path / "partner-aliases"
    aliases.write_text("postmaster: root\n")
    signer = lab.Milter(tmp_path / "signer", port=MILTER_PORT, conf=conf)
    try:
        with world_maker() as make_world:
            relay, partner = make_world(), make_world()
            partner.build_mta(extra=_partner_mc(mailboxes, deliver, aliases))
            subprocess.run(
                ["/usr/sbin/sendmail", "-C", str(partner.sendmail_cf), "-bi"],
                capture_output=True,
                check=True,
            )
            lookup = {
                **relay.lookup,
                "dkim_conf": str(conf),
                "dkim_keys_dir": str(tmp_path / "dkimkeys"),
                "dkim_user": None,
                "dkim_service": None,
                "dkim_genkey": str(lab.LAB / "usr" / "sbin" / "opendkim-genkey"),
            }
            mods = load(lookup)
            module = ModuleProxy(mods)
            domains = [DOMAIN, f"{NETWORK}.{SITE}"]
            setup = mods["sendmail_dkim.setup"](
                {"selector": "s2026"}, relay_domains=domains, masquerade_as=DOMAIN
            )
            features = {
                "mailertable": {"example.net": f"esmtp:[{PARTNER}]"},
                "milters": [setup["milter"]],
                "listen": [RELAY],  # the second host has 127.0.0.2
            }
            module.build_cf("server", relay_domains=domains, features=features, masquerade_as=DOMAIN)
            resolv = tmp_path / "resolv.conf"
            resolv.write_text(f"nameserver {NETWORK}.{DNS}\noptions timeout:1 attempts:1\n")
            mounts.bind(resolv, "/etc/resolv.conf")
            # The site's DNS as its operator publishes it: the records the report lists.
            relays = {"relay1": {"dkim": mods["sendmail_dkim.keys"](), "addresses": [RELAY]}}
            zone = _zone_records(dns_records.site_records(relays))
            with (
                linked_netns(f"smt-dk{DNS}", DNS),
                lab.zone_dns(tmp_path / "dns", f"smt-dk{DNS}", f"{NETWORK}.{DNS}", DOMAIN, zone),
                linked_netns(f"smt-dk{CASES_DNS}", CASES_DNS),
                linked_netns(f"smt-dk{SITE}", SITE),
            ):
                signer.start()
                partner.serve_and_queue(PARTNER)
                relay.start_daemon("-bD", "-ODeliveryMode=queue", wait_port=25, wait_host=RELAY)
                yield types.SimpleNamespace(
                    relay=relay,
                    partner=partner,
                    module=module,
                    mods=mods,
                    setup=setup,
                    signer=signer,
                    mailboxes=mailboxes,
                    lookup=lookup,
                    domains=domains,
                    tmp_path=tmp_path,
                )
    finally:
        signer.stop()
        mounts.remove()


@pytest.fixture
def site(signing_site):
    for world in (signing_site.relay, signing_site.partner):
        for path in world.mqueue.iterdir():
            path.unlink()
    for path in signing_site.mailboxes.iterdir():
        path.unlink()
    if not signing_site.signer.answers():
        signing_site.signer.start()
    return signing_site


def the_report_relays(site):
    """The relay as the report's job returns it: its keys (sendmail_dkim.keys) and address."""
    return {"relay1": {"dkim": site.mods["sendmail_dkim.keys"](), "addresses": [RELAY]}}


def client_sends(make_world, set_lookup, text):
    """A client of the site (MSP to the relay, masquerading as the site's domain) queues ``text``."""
    client = make_world(msp_relay=f"[{RELAY}]")
    set_lookup(client.lookup).build_cf("msp", relay=f"[{RELAY}]", masquerade_as=DOMAIN)
    subprocess.run(
        ["/usr/sbin/sendmail", "-Ac", "-C", str(client.submit_cf), "-odq", "root@example.net"],
        input=f"Subject: nightly backup\n\n{text}\n",
        text=True,
        capture_output=True,
        check=True,
        timeout=30,
    )
    return client


def client_queue_run(client):
    """The client's MSP queue run, from the site's host (198.51.100.31)."""
    client.run_queue("msp", netns=f"smt-dk{SITE}")


def deliver_on(world):
    world.run_queue()


def mailbox(site):
    """The message in root's mailbox on the second host (the local mailer's From_ line dropped)."""
    text = (site.mailboxes / "root").read_bytes()
    return text.split(b"\n", 1)[1] if text.startswith(b"From ") else text


def verified(message):
    """dkimpy's verdict on ``message``, its keys fetched from the site's DNS (NSD)."""
    resolver = dns_records.resolver([f"{NETWORK}.{DNS}"], timeout=2)

    def dnsfunc(name, timeout=5):
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        except dns.resolver.NXDOMAIN:
            return None
        return b"".join(answer[0].strings)

    return dkimpy.verify(message, dnsfunc=dnsfunc)


def test_a_clients_message_arrives_signed_by_the_relay_and_verifies_with_the_published_record(
    site, make_world, set_lookup
):
    client = client_sends(make_world, set_lookup, "ran at 02:00")
    client_queue_run(client)
    assert client.queued_ids("msp") == [], [
        (client.cqueue / f"qf{i}").read_bytes() for i in client.queued_ids("msp")
    ]
    deliver_on(site.relay)
    deliver_on(site.partner)
    message = mailbox(site)
    assert (b"\n" + message).count(b"\nDKIM-Signature:") == 1
    assert b"d=example.com" in message and b"s=s2026-" in message
    assert re.search(rb"^From: .*root@example\.com", message, re.M), message  # the site's domain
    # The record the report lists for the relay, served by a real DNS server: the signature holds.
    assert verified(message) is True
    # Tampered with on the way, it would not.
    assert verified(message.replace(b"ran at 02:00", b"ran at 03:00")) is False


def test_with_opendkim_down_the_message_waits_in_the_clients_queue_and_arrives_signed_once(
    site, make_world, set_lookup
):
    site.signer.stop()
    client = client_sends(make_world, set_lookup, "while the signer is down")
    client_queue_run(client)
    assert len(client.queued_ids("msp")) == 1  # 451 from the relay (F=T): never sent unsigned
    assert site.relay.queued_ids() == []
    status = site.module.status()
    assert "milter-down" in [finding["id"] for finding in status["findings"]]
    site.signer.start()
    client_queue_run(client)
    assert client.queued_ids("msp") == []
    deliver_on(site.relay)
    deliver_on(site.partner)
    message = mailbox(site)
    assert message.count(b"while the signer is down") == 1
    assert verified(message) is True


def test_the_key_is_the_relays_own_readable_by_opendkim_alone_and_never_returned(site):
    [key] = site.mods["sendmail_dkim.keys"]()["keys"]
    private = pathlib.Path(site.lookup["dkim_keys_dir"]) / DOMAIN / f"{key['selector']}.private"
    assert private.stat().st_mode & 0o777 == 0o600
    assert private.parent.stat().st_mode & 0o777 == 0o700
    # The key's body, as PEM carries it: in none of what the functions return.
    body = "".join(line for line in private.read_text().splitlines() if not line.startswith("-----"))
    assert len(base64.b64decode(body)) > 1000
    returned = repr([site.setup, site.mods["sendmail_dkim.keys"](), site.module.status()])
    for start in range(0, len(body) - 40, 40):
        assert body[start : start + 40] not in returned
    # A second run changes nothing and never makes another key.
    again = site.mods["sendmail_dkim.setup"](
        {"selector": "s2026"}, relay_domains=site.domains, masquerade_as=DOMAIN
    )
    assert again["changed"] is False and again["keys_made"] == []
    assert site.module.status()["dkim"]["keys"][0]["value"] == key["value"]


def test_the_report_finds_a_record_missing_wrong_or_right_and_an_spf_record_without_the_relay(
    site, tmp_path
):
    relays = the_report_relays(site)
    records = dns_records.site_records(relays)
    assert [record["purpose"] for record in records] == ["dkim", "spf", "dmarc"]
    [dkim_record, spf_record, dmarc_record] = records
    assert spf_record["value"] == f"v=spf1 ip4:{RELAY} ~all"
    assert (
        all(len(chunk) <= 255 for chunk in dkim_record["strings"]) and len(dkim_record["strings"]) == 2
    )
    wrong_key = dict(dkim_record, strings=dkim.strings(dkim_record["value"].replace("p=MII", "p=MIJ")))
    cases = {
        "right": (records, []),
        "missing": ([spf_record, dmarc_record], ["dkim-record-missing"]),
        "wrong": ([wrong_key, spf_record, dmarc_record], ["dkim-record-mismatch"]),
        "spf without the relay": (
            [dkim_record, dict(spf_record, strings=["v=spf1 ip4:203.0.113.5 -all"]), dmarc_record],
            ["spf-relay-not-allowed"],
        ),
        "spf through include, no dmarc": (
            [
                dkim_record,
                dict(spf_record, strings=["v=spf1 include:_spf.example.com -all"]),
                dict(spf_record, name="_spf.example.com", strings=[f"v=spf1 ip4:{NETWORK}.0/24 -all"]),
            ],
            ["dmarc-missing"],
        ),
    }
    for case, (published, expected) in cases.items():
        zone = _zone_records(published)
        with lab.zone_dns(
            tmp_path / case.replace(" ", "-"),
            f"smt-dk{CASES_DNS}",
            f"{NETWORK}.{CASES_DNS}",
            DOMAIN,
            zone,
        ):
            ask = dns_records.resolver([f"{NETWORK}.{CASES_DNS}"], timeout=2)
            found, unanswered = dns_records.check(ask, dns_records.site_records(relays), relays)
        assert [finding["id"] for finding in found["relay1"]] == expected, case
        assert unanswered == [], case
    # No DNS server answering: said, never taken for a missing record.
    ask = dns_records.resolver([f"{NETWORK}.{CASES_DNS}"], timeout=0.5)
    found, unanswered = dns_records.check(ask, dns_records.site_records(relays), relays)
    assert found == {"relay1": []} and len(unanswered) == 3


def test_a_bad_dkim_value_is_refused_naming_it_and_changes_nothing(site):
    before = snapshot(pathlib.Path(site.lookup["dkim_keys_dir"]), pathlib.Path(site.lookup["dkim_conf"]))
    for bad, named in (
        ({"selector": "s 2026"}, "dkim:selector"),
        ({"selector": "s2026", "bits": 512}, "dkim:bits"),
        ({"selector": "s2026", "domains": ["example.com')dnl"]}, "dkim:domains"),
        ({"selector": "s2026", "keysize": 2048}, "dkim: unknown key keysize"),
    ):
        with pytest.raises(SaltInvocationError, match=named):
            site.mods["sendmail_dkim.setup"](bad, relay_domains=site.domains, masquerade_as=DOMAIN)
    assert (
        snapshot(pathlib.Path(site.lookup["dkim_keys_dir"]), pathlib.Path(site.lookup["dkim_conf"]))
        == before
    )


def test_a_next_selector_makes_its_key_and_lists_its_record_without_signing_with_it(site):
    result = site.mods["sendmail_dkim.setup"](
        {"selector": "s2026", "next_selector": "s2027"}, relay_domains=site.domains, masquerade_as=DOMAIN
    )
    try:
        assert [name.split("-")[0] for name in result["keys_made"]] == ["s2027"]
        keys = site.mods["sendmail_dkim.keys"]()
        assert [key["selector"].split("-")[0] for key in keys["keys"]] == ["s2026"]
        assert [key["selector"].split("-")[0] for key in keys["next"]] == ["s2027"]
        names = [record["name"] for record in dns_records.site_records(the_report_relays(site))]
        assert [name.split("-")[0] for name in names[:2]] == ["s2026", "s2027"]
    finally:
        site.mods["sendmail_dkim.setup"](
            {"selector": "s2026"}, relay_domains=site.domains, masquerade_as=DOMAIN
        )
