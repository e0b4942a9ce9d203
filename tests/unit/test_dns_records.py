"""
The dns_records submodule (saltext.sendmail.shared.dns_records): the records a site must publish,
the SPF evaluation and the findings, against an in-memory zone answering as dnspython's resolver
does (NXDOMAIN, no answer, timeout). The same checks against a real DNS server (NSD) are in
tests/functional/test_dkim.py.
"""

import dns.exception
import dns.resolver
import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import dns_records

KEY = "v=DKIM1; k=rsa; p=" + "A" * 300


class Rdata:
    def __init__(self, kind, value):
        if kind == "TXT":
            self.strings = [value[i : i + 255].encode() for i in range(0, len(value), 255)]
        elif kind == "MX":
            self.exchange = dns.name.from_text(value)
        else:
            self.address = value


class Zone:
    """Answers as dnspython's Resolver.resolve: NXDOMAIN for an unknown name, Timeout when down."""

    def __init__(self, records, down=False):
        self.records, self.down = records, down

    def resolve(self, name, kind, raise_on_no_answer=True, search=False):
        if self.down:
            raise dns.exception.Timeout
        if not any(key[0] == name for key in self.records):
            raise dns.resolver.NXDOMAIN
        return [Rdata(kind, value) for value in self.records.get((name, kind), [])]


def relays(address="198.51.100.1"):
    key = {"domain": "example.com", "selector": "s1-r1", "name": "s1-r1._domainkey.example.com"}
    key.update(value=KEY, strings=[KEY[:255], KEY[255:]])
    return {"relay1": {"dkim": {"keys": [key], "next": []}, "addresses": [address]}}


def test_a_site_publishes_each_relays_key_its_addresses_in_spf_and_a_dmarc_record():
    records = dns_records.site_records(relays())
    assert [(r["name"], r["purpose"], r["minion"]) for r in records] == [
        ("s1-r1._domainkey.example.com", "dkim", "relay1"),
        ("example.com", "spf", None),
        ("_dmarc.example.com", "dmarc", None),
    ]
    assert records[0]["strings"] == [KEY[:255], KEY[255:]]
    assert records[1]["value"] == "v=spf1 ip4:198.51.100.1 ~all"
    assert records[2]["value"] == "v=DMARC1; p=none; rua=mailto:postmaster@example.com"
    both = dns_records.site_records({**relays(), "relay2": {**relays("2001:db8::25")["relay1"]}})
    assert both[2]["value"] == "v=spf1 ip4:198.51.100.1 ip6:2001:db8::25 ~all"


def published(spf="v=spf1 ip4:198.51.100.0/24 -all", key=KEY, dmarc="v=DMARC1; p=none"):
    records = {("example.com", "TXT"): [spf] if spf else []}
    if key:
        records[("s1-r1._domainkey.example.com", "TXT")] = [key]
    if dmarc:
        records[("_dmarc.example.com", "TXT")] = [dmarc]
    return records


@pytest.mark.parametrize(
    ("zone", "found"),
    [
        (published(), []),
        (published(key=None), ["dkim-record-missing"]),
        (published(key=KEY.replace("AAAA", "BBBB", 1)), ["dkim-record-mismatch"]),
        (published(spf="v=spf1 ip4:203.0.113.0/24 -all"), ["spf-relay-not-allowed"]),
        (published(spf=None), ["spf-relay-not-allowed"]),
        (published(dmarc=None), ["dmarc-missing"]),
    ],
)
def test_each_record_missing_or_wrong_is_the_relays_finding(zone, found):
    records = dns_records.site_records(relays())
    findings, unanswered = dns_records.check(Zone(zone), records, relays())
    assert [f["id"] for f in findings["relay1"]] == found
    assert unanswered == []
    assert all(f["severity"] == "high" for f in findings["relay1"])


def test_a_dns_that_does_not_answer_is_said_and_no_record_is_taken_for_missing():
    records = dns_records.site_records(relays())
    findings, unanswered = dns_records.check(Zone({}, down=True), records, relays())
    assert findings == {"relay1": []} and len(unanswered) == 3
    assert [r["published"] for r in records] == [None, None, None]


@pytest.mark.parametrize(
    ("spf", "result"),
    [
        ("v=spf1 ip4:198.51.100.1 -all", "pass"),
        ("v=spf1 ip4:198.51.100.2 -all", "fail"),
        ("v=spf1 ip4:198.51.100.2 ~all", "softfail"),
        ("v=spf1 ip4:198.51.100.2", "neutral"),
        ("v=spf1 a -all", "pass"),
        ("v=spf1 a:mail.example.com/24 -all", "pass"),
        ("v=spf1 mx -all", "pass"),
        ("v=spf1 include:_spf.example.com -all", "pass"),
        ("v=spf1 redirect=_spf.example.com", "pass"),
        ("v=spf1 -ip4:198.51.100.1 +all", "fail"),
        ("v=spf1 ip6:2001:db8::/32 -all", "fail"),
    ],
)
def test_spf_is_evaluated_as_a_receiver_would(spf, result):
    zone = Zone(
        {
            ("example.com", "TXT"): [spf, "google-site-verification=x"],
            ("example.com", "A"): ["198.51.100.1"],
            ("example.com", "MX"): ["mx.example.com."],
            ("mx.example.com", "A"): ["198.51.100.1"],
            ("mail.example.com", "A"): ["198.51.100.200"],
            ("_spf.example.com", "TXT"): ["v=spf1 ip4:198.51.100.0/28 -all"],
        }
    )
    assert dns_records.spf(zone, "example.com", "198.51.100.1") == result


def test_spf_without_a_record_two_records_or_a_loop_is_no_pass():
    assert (
        dns_records.spf(Zone({("example.com", "TXT"): ["other"]}), "example.com", "192.0.2.1") == "none"
    )
    two = Zone({("example.com", "TXT"): ["v=spf1 -all", "v=spf1 +all"]})
    assert dns_records.spf(two, "example.com", "192.0.2.1") == "permerror"
    loop = Zone({("example.com", "TXT"): ["v=spf1 include:example.com -all"]})
    assert dns_records.spf(loop, "example.com", "192.0.2.1") == "permerror"


def test_public_addresses_must_be_addresses():
    assert dns_records.addresses(["192.0.2.1", "2001:db8::1"]) == ["192.0.2.1", "2001:db8::1"]
    with pytest.raises(
        SaltInvocationError, match=r"public_addresses\[1\]: 'relay1' is not an IP address"
    ):
        dns_records.addresses(["192.0.2.1", "relay1"])


def test_the_resolver_asks_the_servers_named():
    ask = dns_records.resolver(["192.0.2.53"], timeout=2)
    assert ask.nameservers == ["192.0.2.53"] and ask.lifetime == 2.0
