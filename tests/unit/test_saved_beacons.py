"""saltext.sendmail.shared.saved_beacons against what Salt's own beacons.save writes."""

import salt.modules.beacons

from saltext.sendmail.shared import saved_beacons

BEACON = [{"beacon_module": "sendmail_metrics"}, {"interval": 60}]


def salt_save(monkeypatch, opts, beacons):
    """Salt's beacons.save, with the minion's in-memory list (its event round trip) given."""
    monkeypatch.setattr(salt.modules.beacons, "__opts__", opts, raising=False)
    monkeypatch.setattr(salt.modules.beacons, "list_", lambda **kwargs: beacons)
    return salt.modules.beacons.save()


def test_reads_back_what_salts_save_wrote(tmp_path, monkeypatch):
    (tmp_path / "minion.d").mkdir()
    opts = {"conf_file": str(tmp_path / "minion"), "default_include": "minion.d/*.conf"}
    assert saved_beacons.saved(opts, "sendmail_metrics") is None  # no file yet
    saved = salt_save(monkeypatch, opts, {"sendmail_metrics": BEACON, "other": [{"interval": 5}]})
    assert saved["result"] is True, saved
    assert saved_beacons.path(opts) == str(tmp_path / "minion.d" / "beacons.conf")
    assert saved_beacons.saved(opts, "sendmail_metrics") == BEACON
    assert saved_beacons.saved(opts, "missing") is None
    assert salt_save(monkeypatch, opts, {})["result"] is True  # Salt writes an empty file
    assert saved_beacons.saved(opts, "sendmail_metrics") is None


def test_a_file_that_is_not_yaml_or_not_beacons_holds_none(tmp_path):
    opts = {"conf_file": str(tmp_path / "minion"), "default_include": "minion.d/*.conf"}
    (tmp_path / "minion.d").mkdir()
    for text in (
        "beacons: [unclosed",
        "- a list",
        "beacons: 3",
        "beacons: {sendmail_metrics: {interval: 60}}",
        "beacons: {sendmail_metrics: [interval]}",
    ):
        (tmp_path / "minion.d" / "beacons.conf").write_text(text)
        assert saved_beacons.saved(opts, "sendmail_metrics") is None, text
