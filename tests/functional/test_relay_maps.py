"""
A relay as sites run it, for real: the server role's cf and maps (sendmail.build_cf and
sendmail.aliases with the site's features) run by the real sendmail on 198.51.100.1 and
2001:db8:5::1, a second relay on 127.0.0.2 that a mailertable routes a domain to, OpenDKIM in verify
mode as the milter (it stamps each message it sees), NSD serving a DNS blocklist in a namespace of
its own, and hosts in other namespaces: the site's own (.31, 2001:db8:5::31), outsiders (.32), a
listed one (.33) and a refused one (.34).
"""

import subprocess
import types

import pytest
from salt.exceptions import SaltInvocationError

from tests.conftest import world_maker
from tests.functional.conftest import ModuleProxy
from tests.support import lab, smtp_session
from tests.support.flood import flood_from
from tests.support.mounts import Mounts
from tests.support.netns import NETWORK, bridge, linked_netns
from tests.support.snapshot import snapshot

RELAY, RELAY6 = f"{NETWORK}.1", "2001:db8:5::1"
SITE6, OUTSIDER6 = "2001:db8:5::31", "2001:db8:5::1:32"
SITE, OUTSIDER, LISTED, REFUSED, DNS = 31, 32, 33, 34, 53
PARTNER = "127.0.0.2"
STAMP = "Authentication-Results: relay.example.test"


def features(milter_socket):
    return {
        "mailertable": {"example.net": f"esmtp:[{PARTNER}]"},
        "virtusertable": {
            "@virtual.example.test": "ops@example.com",
            "nobody@virtual.example.test": "error:nouser User unknown",
            "gone@virtual.example.test": "error:5.1.1:550 gone from here",
        },
        "genericstable": {"alice@host31.example.test": "alice.smith@example.com"},
        "generics_domains": ["host31.example.test"],
        "access": {
            f"Connect:{NETWORK}.{REFUSED}": 'ERROR:5.7.1:"550 not from this host"',
            "From:spam@example.org": "DISCARD",
            "To:partner.example.org": "RELAY",
        },
        "milters": [{"name": "verify", "socket": milter_socket}],
        "dnsbl": [{"zone": "bl.example.test", "message": "550 5.7.1 listed at bl.example.test"}],
        "listen": [RELAY, RELAY6],
    }


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def lab_site(load, tmp_path_factory):
    """
    The relay, the second relay, the milter, the DNS and the hosts, once for the module (each
    takes seconds to start); :func:`site` gives each test them as they were built.
    """
    tmp_path = tmp_path_factory.mktemp("relay-maps")
    bridge()
    _ip("addr", "add", f"{RELAY6}/64", "dev", "smbr0", "nodad")
    mounts = Mounts()
    milter = lab.Milter(tmp_path / "milter")
    try:
        with world_maker() as make_world:
            relay, partner = make_world(), make_world()
            # Another host: its own name (one name on both ends is "mail loops back to me").
            partner.build_mta(
                extra="define(`confDOMAIN_NAME', `partner.example.test')dnl\n"
                "RELAY_DOMAIN(`example.net')dnl\n"
            )
            module = ModuleProxy(load(relay.lookup))
            # The site's IPv6 network: 2001:db8:5::/112 (the site's host is ::31, an outsider ::1:32).
            domains = ["example.com", f"{NETWORK}.{SITE}", "IPv6:2001:db8:5:0:0:0:0"]
            wanted = features(milter.socket)
            built = module.build_cf("server", relay_domains=domains, features=wanted)
            module.aliases(virtusers=wanted["virtusertable"])
            resolv = tmp_path / "resolv.conf"
            resolv.write_text(f"nameserver {NETWORK}.{DNS}\noptions timeout:1 attempts:1\n")
            mounts.bind(resolv, "/etc/resolv.conf")
            listed = [f"{NETWORK}.{LISTED}", f"{NETWORK}.{SITE}"]
            with (
                linked_netns(f"smt-rm{DNS}", DNS),
                lab.blocklist_dns(
                    tmp_path / "dns", f"smt-rm{DNS}", f"{NETWORK}.{DNS}", "bl.example.test", listed
                ),
                linked_netns(f"smt-rm{SITE}", SITE),
                linked_netns(f"smt-rm{OUTSIDER}", OUTSIDER),
                linked_netns(f"smt-rm{LISTED}", LISTED),
                linked_netns(f"smt-rm{REFUSED}", REFUSED),
            ):
                for number, address in ((SITE, SITE6), (OUTSIDER, OUTSIDER6)):
                    _ip("-n", f"smt-rm{number}", "addr", "add", f"{address}/64", "dev", "eth0", "nodad")
                milter.start()
                partner.serve_and_queue(PARTNER)
                # As the cf says: its own listeners (IPv4 and IPv6), mail kept in its queue.
                daemon = relay.start_daemon("-bD", "-ODeliveryMode=queue", wait_port=25, wait_host=RELAY)
                yield types.SimpleNamespace(
                    relay=relay,
                    partner=partner,
                    module=module,
                    milter=milter,
                    daemon=daemon,
                    built=built,
                    domains=domains,
                    features=wanted,
                )
    finally:
        milter.stop()
        mounts.remove()
        subprocess.run(["ip", "addr", "del", f"{RELAY6}/64", "dev", "smbr0"], check=False)


@pytest.fixture
def site(lab_site):
    """The relay as built: empty queues, the milter up, the site's maps as the pillar gave them."""
    for world in (lab_site.relay, lab_site.partner):
        for path in world.mqueue.iterdir():
            path.unlink()
    if not lab_site.milter.answers():
        lab_site.milter.start()
    lab_site.module.build_cf("server", relay_domains=lab_site.domains, features=lab_site.features)
    lab_site.module.aliases(virtusers=lab_site.features["virtusertable"])
    return lab_site


def session(number, steps, server=RELAY):
    return smtp_session.session(f"smt-rm{number}", server, steps)


def run_queue(world):
    world.run_queue()


def client_queue_run(client):
    """The client's MSP queue run, from the site's host (.31, 2001:db8:5::31) as its runner does."""
    client.run_queue("msp", netns=f"smt-rm{SITE}")


def queued_texts(world):
    return [
        (world.mqueue / f"qf{queue_id}").read_text(errors="replace") for queue_id in world.queued_ids()
    ]


def codes(said):
    return [code for _, code, _ in said]


def test_a_routed_domain_reaches_the_second_relay_with_its_sender_rewritten_and_the_milter_seen(site):
    said = session(
        SITE,
        [
            ["MAIL", "FROM:<alice@host31.example.test>"],
            ["RCPT", "TO:<bob@example.net>"],
            ["DATA", "From: alice@host31.example.test\nSubject: routed\n\nhi\n"],
        ],
    )
    assert codes(said) == [220, 250, 250, 250, 250], said
    run_queue(site.relay)
    assert site.relay.queued_ids() == []
    [arrived] = queued_texts(site.partner)
    # The envelope and the header sender as the second relay got them: the genericstable's.
    assert "S<alice.smith@example.com>" in arrived.splitlines()
    assert "From: alice.smith@example.com" in arrived
    assert "alice@host31.example.test" not in arrived
    assert "bob@example.net" in arrived
    assert STAMP in arrived  # the milter saw it on the way in


def test_a_virtual_domain_catches_all_and_refuses_the_address_it_names(site):
    said = session(
        OUTSIDER,
        [
            ["MAIL", "FROM:<someone@example.org>"],
            ["RCPT", "TO:<anyone@virtual.example.test>"],
            ["RCPT", "TO:<nobody@virtual.example.test>"],
            ["RCPT", "TO:<gone@virtual.example.test>"],
            ["DATA", "Subject: virtual\n\nhi\n"],
        ],
    )
    # error:nouser is sendmail's 553 5.3.0 (measured); a code of the entry's own, that code.
    assert codes(said) == [220, 250, 250, 250, 553, 550, 250], said
    assert "User unknown" in said[4][2] and "gone from here" in said[5][2]
    [queued] = queued_texts(site.relay)
    assert "ops@example.com" in queued


def test_access_entries_reject_discard_and_relay_as_written(site):
    relayed = session(
        OUTSIDER,
        [
            ["MAIL", "FROM:<someone@example.org>"],
            ["RCPT", "TO:<x@partner.example.org>"],
            ["RCPT", "TO:<x@elsewhere.example.org>"],
        ],
    )
    assert codes(relayed)[3:] == [250, 550], relayed
    discarded = session(
        OUTSIDER,
        [
            ["MAIL", "FROM:<spam@example.org>"],
            ["RCPT", "TO:<ops@example.com>"],
            ["DATA", "Subject: s\n\nx\n"],
        ],
    )
    assert codes(discarded) == [220, 250, 250, 250, 250], discarded
    assert site.relay.queued_ids() == []  # accepted, then dropped: DISCARD
    refused = session(REFUSED, [["MAIL", "FROM:<a@example.org>"]])
    assert refused[-1][1] == 550 and "not from this host" in refused[-1][2], refused


def test_a_listed_host_is_refused_and_the_sites_own_network_never_checked(site):
    assert lab.dns_answers(f"{NETWORK}.{DNS}", f"{LISTED}.100.51.198.bl.example.test") == ["127.0.0.2"]
    listed = session(LISTED, [["MAIL", "FROM:<a@example.org>"], ["RCPT", "TO:<ops@example.com>"]])
    assert 550 in codes(listed) and "listed at bl.example.test" in str(listed), listed
    # The site's host is listed too: it relays all the same.
    own = session(SITE, [["MAIL", "FROM:<cron@example.com>"], ["RCPT", "TO:<x@example.org>"]])
    assert codes(own) == [220, 250, 250, 250], own


def test_with_the_milter_down_a_clients_message_waits_and_arrives_once_it_is_back(site, make_world):
    client = make_world(msp_relay=f"[{RELAY}]")
    client.submit("ops@example.com", queue="msp", body="through the milter\n")

    site.milter.stop()
    status = site.module.status()
    assert status["milters"] == [
        {"name": "verify", "socket": site.milter.socket, "flags": "T", "answers": False}
    ]
    assert "milter-down" in [finding["id"] for finding in status["findings"]]
    client_queue_run(client)
    assert len(client.queued_ids("msp")) == 1  # tempfailed (F=T): it waits, nothing bounced
    assert site.relay.queued_ids() == []
    site.milter.start()
    client_queue_run(client)
    assert client.queued_ids("msp") == []
    [arrived] = queued_texts(site.relay)
    assert STAMP in arrived and "through the milter" not in arrived  # body in the df file
    assert site.module.status()["milters"][0]["answers"] is True


def test_an_ipv6_client_relays_through_the_relays_ipv6_address(site, make_world):
    client = make_world(msp_relay=f"[IPv6:{RELAY6}]")
    client.submit("x@example.org", queue="msp")
    client_queue_run(client)
    assert client.queued_ids("msp") == []
    [arrived] = queued_texts(site.relay)
    # Relayed to a foreign domain: its IPv6 network is the site's (Connect:IPv6:2001:db8:5:0:0:0:0 RELAY).
    assert "x@example.org" in arrived and "[IPv6:2001:db8:5:0:0:0:0:31]" in arrived


def test_an_ipv6_outsider_meets_the_limits_and_relay_rules_an_ipv4_one_does(site):
    relaying = session(
        OUTSIDER,
        [
            ["MAIL", "FROM:<a@example.org>"],
            ["RCPT", "TO:<x@example.org>"],
            ["RCPT", "TO:<ops@example.com>"],
        ],
        server=RELAY6,
    )
    assert "[IPv6:2001:db8:5:0:0:0:1:32]" in relaying[1][2]  # it came over IPv6
    assert codes(relaying)[3:] == [550, 250], relaying
    # client_connections (10) holds for an IPv6 address; the site's IPv6 host is exempt.
    floods = []
    try:
        flood, greeted, refused = flood_from(f"smt-rm{OUTSIDER}", RELAY6, 12)
        floods.append(flood)
        assert (greeted, refused) == (10, 2)
        flood, greeted, refused = flood_from(f"smt-rm{SITE}", RELAY6, 12)
        floods.append(flood)
        assert (greeted, refused) == (12, 0)
    finally:
        for flood in floods:
            flood.stdin.close()
            flood.wait(timeout=30)


def test_status_names_the_maps_and_milters_in_use_with_their_counts(site):
    status = site.module.status()
    assert status["maps"]["mailertable"]["entries"] == 1
    assert status["maps"]["virtuser"]["entries"] == 3
    assert status["maps"]["generics"]["entries"] == 1
    # The access map: 2 flood limits, 3 x 3 exemptions, 2 networks' Connect RELAY, 3 entries.
    assert status["maps"]["access"]["entries"] == 2 + 9 + 2 + 3
    assert status["milters"][0]["answers"] is True
    assert "milter-down" not in [finding["id"] for finding in status["findings"]]
    # Its IPv6 listener is seen, and exposed, as its IPv4 one is.
    listening = {(entry["address"], entry["exposed"]) for entry in status["listeners"]}
    assert {(RELAY, True), (RELAY6, True)} <= listening, listening
    assert status["role"] == "server"


def test_changed_maps_are_taken_up_by_the_next_connection_without_a_restart(site):
    changed = {
        **site.features,
        "mailertable": {"example.net": "error:5.1.2:550 example.net is gone"},
        "access": {**site.features["access"], "To:partner.example.org": "REJECT"},
        "virtusertable": {
            **site.features["virtusertable"],
            "anyone@virtual.example.test": "error:5.1.1:550 moved",
        },
    }
    result = site.module.build_cf("server", relay_domains=site.domains, features=changed)
    etc = site.relay.etc
    assert sorted(result["files"]) == [str(etc / "salt-access"), str(etc / "salt-mailertable")]
    assert site.module.aliases(virtusers=changed["virtusertable"])["changed"] is True
    said = session(
        SITE,
        [
            ["MAIL", "FROM:<cron@example.com>"],
            ["RCPT", "TO:<bob@example.net>"],
            ["RCPT", "TO:<anyone@virtual.example.test>"],
        ],
    )
    assert said[-2][1] == 550 and "example.net is gone" in said[-2][2], said
    assert said[-1][1] == 550 and "moved" in said[-1][2], said
    outsider = session(
        OUTSIDER, [["MAIL", "FROM:<a@example.org>"], ["RCPT", "TO:<x@partner.example.org>"]]
    )
    assert outsider[-1][1] >= 500, outsider
    assert site.daemon.poll() is None  # the same daemon, never restarted
    # And the same again changes nothing.
    assert (
        site.module.build_cf("server", relay_domains=site.domains, features=changed)["changed"] is False
    )


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"mailertable": {"example.net": "esmtp:[127.0.0.2]\tx"}}, "mailertable:example.net"),
        ({"access": {"Connect:203.0.113.9": "REJECT\nKx"}}, "access:Connect:203.0.113.9"),
        ({"milters": [{"name": "x", "socket": "inet:1@127.0.0.1')dnl"}]}, "milters[0]:socket"),
        ({"timeouts": {"helo": "5m')dnl"}}, "timeouts:helo"),
    ],
)
def test_a_bad_value_changes_nothing_and_names_its_key(site, bad, named):
    before = snapshot(site.relay.etc)
    with pytest.raises(SaltInvocationError) as err:
        site.module.build_cf("server", relay_domains=site.domains, features={**site.features, **bad})
    assert named in str(err.value)
    assert snapshot(site.relay.etc) == before
