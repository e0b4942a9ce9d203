"""
The milters submodule (saltext.sendmail.shared.milters): the site's ordered milters checked, their
.mc lines, read back from a cf, and whether each socket answers (real sockets).
"""

import socket

import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import milters


def test_a_milter_tempfails_by_default_and_keeps_its_order():
    checked = milters.check(
        [
            {"name": "opendkim", "socket": "inet:8891@127.0.0.1", "timeouts": {"connect": "10s"}},
            {"name": "clamav", "socket": "unix:/run/clamav/milter.ctl", "flags": "R"},
        ]
    )
    assert [m["flags"] for m in checked] == ["T", "R"]
    assert milters.mc_lines(checked) == [
        "INPUT_MAIL_FILTER(`opendkim', `S=inet:8891@127.0.0.1, F=T, T=C:10s')dnl",
        "INPUT_MAIL_FILTER(`clamav', `S=unix:/run/clamav/milter.ctl, F=R')dnl",
    ]


@pytest.mark.parametrize(
    ("milter", "why"),
    [
        ({"name": "a b", "socket": "inet:8891@127.0.0.1"}, "is not a new name"),
        ({"name": "x", "socket": "inet:8891@localhost"}, "is not unix:/path"),
        ({"name": "x", "socket": "inet6:8891@127.0.0.1"}, "is not unix:/path"),
        ({"name": "x", "socket": "unix:/run/x')dnl"}, "is not a plain absolute path"),
        ({"name": "x", "socket": "inet:8891@127.0.0.1", "flags": "TR"}, "is not T, R, 4"),
        ({"name": "x", "socket": "inet:1@127.0.0.1", "timeouts": {"eom": "5 m"}}, "is not a duration"),
        ({"name": "x", "socket": "inet:1@127.0.0.1", "sock": "y"}, "unknown key sock"),
        ({"name": "x"}, "socket: required"),
    ],
)
def test_a_bad_milter_is_refused_naming_its_key(milter, why):
    with pytest.raises(SaltInvocationError, match=why) as err:
        milters.check([milter], "sendmail:sites:s:milters")
    assert str(err.value).startswith("sendmail:sites:s:milters[0]")


def test_two_milters_of_one_name_are_refused():
    same = {"name": "x", "socket": "inet:1@127.0.0.1"}
    with pytest.raises(SaltInvocationError, match=r"milters\[1\]:name"):
        milters.check([same, same])


def test_the_milters_of_a_cf_in_its_order():
    cf_text = (
        "O InputMailFilters=b, a\nXa, S=inet:8891@127.0.0.1, F=T, T=C:10s\nXb, S=unix:/run/b.sock, F=R\n"
    )
    assert milters.in_cf(cf_text) == [
        {"name": "b", "socket": "unix:/run/b.sock", "flags": "R"},
        {"name": "a", "socket": "inet:8891@127.0.0.1", "flags": "T"},
    ]


def test_a_socket_answers_while_something_listens_on_it(tmp_path):
    path = tmp_path / "milter.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        assert milters.answers(f"unix:{path}") is True
        report = milters.report(f"Xm, S=local:{path}, F=T\n")
        assert report == [{"name": "m", "socket": f"local:{path}", "flags": "T", "answers": True}]
    assert milters.answers(f"unix:{path}") is False
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        assert milters.answers(f"inet:{port}@127.0.0.1") is False  # bound, not listening
        listener.listen(1)
        assert milters.answers(f"inet:{port}@127.0.0.1") is True
