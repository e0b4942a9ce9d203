"""
What the operator's manual states is what the code has: each field of the fleet report, each
metric family, each alert, each verdict is named on its page, read from the code, not restated.
"""

import ast
import pathlib
import re

import yaml

from saltext.sendmail.shared import findings, fleet_report, judgement, metrics, schema

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


def state_defaults(function):
    """The defaults of one state function's arguments, read from _states/sendmail.py."""
    tree = ast.parse((REPO / "_states" / "sendmail.py").read_text())
    [node] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
    arguments = node.args.args[len(node.args.args) - len(node.args.defaults) :]
    return {
        arg.arg: ast.literal_eval(value)
        for arg, value in zip(arguments, node.args.defaults, strict=True)
    }


def test_the_pillar_reference_gives_the_defaults_the_code_has():
    client, server = state_defaults("client"), state_defaults("server")
    said = {
        "sendmail:msp_interval": client["msp_interval"],
        "sendmail:queue_interval": client["queue_interval"],
        "sendmail:server_queue_interval": server["queue_interval"],
        "sendmail:max_queue_age": findings.MAX_QUEUE_AGE,
        "sendmail:metrics:textfile_dir": metrics.DEFAULTS["textfile_dir"],
        "sendmail:metrics:interval": metrics.DEFAULTS["interval"],
    }
    assert server["msp_interval"] == client["msp_interval"]
    wrong = {
        key: value
        for key, value in said.items()
        if not re.search(rf"default (?:``)?{re.escape(str(value))}(?:``)?\)", schema.DOCS[key])
    }
    assert not wrong, f"the schema's docs do not say these defaults: {wrong}"
