"""
The patch_lease submodule (saltext.sendmail.shared.patch_lease): a relay's lease in a real file,
taken, renewed, refused to another run until it is given back or expires; and the runner's side,
a site's leases taken in order and given back when one is held.
"""

import pytest
from salt.exceptions import SaltInvocationError

from saltext.sendmail.shared import patch_lease


def test_a_lease_is_one_runs_until_given_back_or_expired(tmp_path):
    path = str(tmp_path / "run" / "lease")
    assert patch_lease.take(path, "run A", 60, 1000) == {
        "granted": True,
        "holder": "run A",
        "expires": 1060,
    }
    assert patch_lease.take(path, "run B", 60, 1010) == {
        "granted": False,
        "holder": "run A",
        "expires": 1060,
    }
    assert patch_lease.take(path, "run A", 60, 1020)["expires"] == 1080  # renewed
    assert patch_lease.take(path, "run B", 0, 1030)["granted"] is False  # not B's to give back
    assert patch_lease.take(path, "run A", 0, 1030) == {"granted": True, "holder": None, "expires": None}
    assert patch_lease.take(path, "run B", 60, 1031)["granted"] is True
    # A run that died: its lease ends at its expiry.
    assert patch_lease.take(path, "run C", 60, 1092)["granted"] is True


def test_a_torn_file_is_no_lease(tmp_path):
    (tmp_path / "lease").write_text("{half")
    assert patch_lease.take(str(tmp_path / "lease"), "run A", 10, 0)["granted"] is True


@pytest.mark.parametrize(
    ("holder", "seconds", "why"), [("", 10, "holder"), ("a", -1, "seconds"), ("a", True, "seconds")]
)
def test_bad_values_are_refused(tmp_path, holder, seconds, why):
    with pytest.raises(SaltInvocationError, match=why):
        patch_lease.take(str(tmp_path / "lease"), holder, seconds, 0)
    assert not (tmp_path / "lease").exists()


def test_a_site_is_taken_in_order_and_what_was_taken_is_given_back_while_another_holds_one(tmp_path):
    patch_lease.take(str(tmp_path / "relay2"), "other run", 3600, 0)
    calls, said = [], []

    def call(minion, function, args):
        calls.append((minion, *args))
        return True, patch_lease.take(str(tmp_path / minion), *args, 10)

    site = patch_lease.Site(call, ["relay2", "relay1"], "this run", 100)
    taken, why = site.take(10, said.append, lambda seconds: None)
    assert (taken, why) == (False, "relay2's patch lease is held by other run, for 10 s")
    assert calls[:3] == [
        ("relay1", "this run", 100),
        ("relay2", "this run", 100),
        ("relay1", "this run", 0),
    ]
    assert said[0] == "waiting: relay2's patch lease is held by other run"
    patch_lease.take(str(tmp_path / "relay2"), "other run", 0, 20)
    assert site.take(10, said.append, lambda seconds: None) == (True, "")
    site.give_back()
    assert patch_lease.take(str(tmp_path / "relay1"), "next", 1, 30)["granted"] is True
