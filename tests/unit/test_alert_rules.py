"""The shipped alert rules, as Prometheus reads them: Debian's promtool checks and unit-tests them."""

import pathlib

import yaml

from tests.support.prometheus import promtool

REPO = pathlib.Path(__file__).resolve().parents[2]
RULES = REPO / "_utils" / "saltext" / "sendmail" / "prometheus" / "sendmail.rules.yml"
RULE_TESTS = REPO / "tests" / "prometheus" / "sendmail.rules.test.yml"


def test_promtool_checks_the_rules():
    code, said = promtool("check", "rules", str(RULES))
    assert code == 0, said
    assert "SUCCESS: 11 rules found" in said


def test_promtool_unit_tests_pass():
    code, said = promtool("test", "rules", str(RULE_TESTS))
    assert code == 0, said


def test_every_alert_is_tested_firing_and_quiet_and_says_what_to_run():
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    checks = [check for case in cases for check in case["alert_rule_test"]]
    for rule in rules:
        mine = [check for check in checks if check["alertname"] == rule["alert"]]
        assert [check for check in mine if check["exp_alerts"]], f"{rule['alert']} never fires in a test"
        assert [check for check in mine if not check["exp_alerts"]], f"{rule['alert']} is never quiet"
        assert rule["for"] and rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert "salt" in rule["annotations"]["description"], f"{rule['alert']} says nothing to run"


def test_a_broken_rule_fails_its_unit_test(tmp_path):
    """The unit tests would catch a rule that lost its condition (here: the verdict's alert)."""
    broken = RULES.read_text().replace(
        ' unless on (instance, job) sendmail_verdict{verdict=~"drifted|at_risk|misconfigured"} == 1',
        "",
        1,
    )
    assert broken != RULES.read_text()
    (tmp_path / "sendmail.rules.yml").write_text(broken)
    tests = yaml.safe_load(RULE_TESTS.read_text())
    tests["rule_files"] = [str(tmp_path / "sendmail.rules.yml")]
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests))
    code, said = promtool("test", "rules", str(tmp_path / "test.yml"))
    assert code != 0 and "SendmailQueueOlderThanQueuewarn" in said
