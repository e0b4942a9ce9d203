"""The flood submodule (saltext.sendmail.shared.flood): the access map's entries and the .mc lines."""

from saltext.sendmail.shared import flood, limits_table, platform


def test_the_access_map_limits_outsiders_and_exempts_loopback_and_the_sites_networks():
    limits = {**limits_table.SERVER_DEFAULTS, "client_connections": 7}
    text = flood.access_text(limits, ["example.com", "198.51.100", "3com.com", "10.1"])
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        "ClientConn:\t7",
        "ClientRate:\t30",
        "ClientConn:127.0.0.1\t0",
        "ClientRate:127.0.0.1\t0",
        "GreetPause:127.0.0.1\t0",
        "ClientConn:198.51.100\t0",
        "ClientRate:198.51.100\t0",
        "GreetPause:198.51.100\t0",
        "ClientConn:10.1\t0",
        "ClientRate:10.1\t0",
        "GreetPause:10.1\t0",
    ]


def test_the_mc_lines_terminate_the_excess_at_connect_time():
    lines = flood.mc_lines(limits_table.SERVER_DEFAULTS, "/etc/mail/salt-access")
    assert "FEATURE(`access_db', `hash -T<TMPF> -o /etc/mail/salt-access')dnl" in lines
    # Checked in check_relay (at connect: an idle flood never sends MAIL); no delay_checks, which
    # would move the site's STARTTLS requirement from MAIL to RCPT.
    assert "FEATURE(`conncontrol', `', `terminate')dnl" in lines
    assert "FEATURE(`ratecontrol', `', `terminate')dnl" in lines
    assert not [line for line in lines if "delay_checks" in line]
    assert "FEATURE(`greet_pause', `1000')dnl" in lines


def test_the_map_lives_beside_sendmail_cf_unless_the_lookup_says():
    lookup = platform.lookup("Debian")
    assert flood.access_map(lookup) == "/etc/mail/salt-access"
    assert flood.access_map({**lookup, "access_map": "/srv/mail/access"}) == "/srv/mail/access"
