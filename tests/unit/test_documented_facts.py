"""
What the operator's manual states is what the code has: each field of the fleet report, each
metric family, each alert, each verdict is named on its page, read from the code, not restated.
"""

import pathlib
import re

import yaml

from saltext.sendmail.shared import fleet_report, judgement

REPO = pathlib.Path(__file__).resolve().parents[2]
TOPICS = REPO / "docs" / "topics"
SHARED = REPO / "_utils" / "saltext" / "sendmail" / "shared"
RULES = REPO / "_utils" / "saltext" / "sendmail" / "prometheus" / "sendmail.rules.yml"


def section(page, heading):
    """The text under ``heading`` up to the next heading of the same level or above."""
    text = (TOPICS / page).read_text()
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) :]
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", rest, re.M)]
    return rest[: ends[0]] if ends else rest


def test_the_fleet_view_names_every_field_and_list_of_the_report():
    text = section("fleet-view.md", "## `salt-run sendmail.report`")
    missing = [
        f
        for f in (*fleet_report.FIELDS, "compliant", *fleet_report.SUMMARY, "unpatched")
        if f"`{f}`" not in text
    ]
    assert not missing, f"docs/topics/fleet-view.md does not name the report's {missing}"


def test_the_one_judgement_names_every_verdict():
    text = section("fleet-view.md", "## The one judgement: `sendmail.compliance`")
    missing = [verdict for verdict in judgement.VERDICTS if f"`{verdict}`" not in text]
    assert not missing, missing


def test_the_metrics_page_names_every_metric_family_and_alert():
    text = (TOPICS / "metrics.md").read_text()
    source = (SHARED / "metrics.py").read_text()
    families = re.findall(r'Family\(\s*"(sendmail_[a-z_]+)"', source)
    assert len(families) > 10
    alerts = [
        rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]
    missing = [name for name in (*families, *alerts) if name not in text]
    assert not missing, f"docs/topics/metrics.md does not name {missing}"
