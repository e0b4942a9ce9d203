"""The limits table (saltext.sendmail.shared.limits_table): each limit once, and written where it says."""

from saltext.sendmail.shared import allowlist, flood, limits_table, mc


def test_each_server_limit_is_written_exactly_one_way():
    for name, row in limits_table.SERVER.items():
        ways = [way for way in ("cf", "access", "feature") if way in row]
        assert len(ways) == 1, name
    macros = [macro for macro, _, _ in limits_table.cf_options(limits_table.SERVER).values()]
    assert len(macros) == len(set(macros))


def test_every_limit_reaches_the_relay_where_its_row_says():
    limits = allowlist.server_limits({"queue_warn": "2h", "client_rate": 7})
    text = mc.render("server", [], limits=limits, access_map="/etc/mail/salt-access")
    for name, (macro, _, unit) in limits_table.cf_options(limits_table.SERVER).items():
        assert f"define(`{macro}', `{limits[name]}{unit}')dnl" in text, name
    assert "define(`confTO_QUEUEWARN', `2h')dnl" in text
    access = flood.access_text(limits, [])
    for name, key in limits_table.ACCESS_ENTRIES.items():
        assert f"{key}:\t{limits[name]}" in access, name
    assert "ClientRate:\t7" in access
    features = [row["feature"] for row in limits_table.SERVER.values() if "feature" in row]
    assert features == ["greet_pause"]
    assert f"FEATURE(`greet_pause', `{limits['greet_pause']}')dnl" in text


def test_a_client_gets_only_the_queue_timeouts():
    assert allowlist.queue_limits({"queue_return": "3d"}) == {"queue_warn": None, "queue_return": "3d"}
    assert set(limits_table.QUEUE_DEFAULTS) == {"queue_warn", "queue_return"}
