"""
``sendmail_report``: ``salt-run sendmail.report`` as a table a person reads at a glance: one line per
minion (state, expected and observed role, version, and for a minion that is not compliant why:
its problem or its high findings), then the summary.
"""

COLUMNS = ("minion", "state", "expected", "observed", "package", "why")


def _why(entry, state):
    """Why a minion is not compliant: its problem, else the findings that count (one per kind)."""
    if entry.get("compliant"):
        return ""
    if entry.get("problem"):
        return entry["problem"]
    if state == "unmanaged":
        return "no sendmail:role in its pillar: the formula does not manage it"
    high = {}
    for finding in entry.get("findings") or []:
        high.setdefault(finding["id"], []).append(finding["message"])
    said = [
        f"{kind}: {messages[0]}" + (f" (+{len(messages) - 1} more)" if len(messages) > 1 else "")
        for kind, messages in high.items()
    ]
    return "; ".join(said) or "the roles differ"


def _package(entry):
    """The package's version, with the newer one offered (``8.17.1.9-2 -> 8.17.1.9-3``)."""
    package = entry.get("package") or {}
    version = package.get("version") or entry.get("version") or "-"
    return f"{version}->{package['candidate']}" if package.get("candidate") else str(version)


def output(data, **kwargs):
    """The table; any other data (an error string) as it is."""
    if not isinstance(data, dict) or "minions" not in data:
        return str(data)
    # A minion's state is its verdict; "unpatched" is a list beside the verdicts.
    states = {
        minion: kind
        for kind, minions in data["summary"].items()
        if kind != "unpatched"
        for minion in minions
    }
    rows = [
        (
            minion,
            states.get(minion, "?").replace("_", " "),
            str(entry.get("expected") or "-"),
            str(entry.get("observed") or "-"),
            _package(entry),
            _why(entry, states.get(minion)),
        )
        for minion, entry in sorted(data["minions"].items())
    ]
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        + "  "
        + row[-1]
        for row in [COLUMNS, *rows]
    ]
    lines.append("")
    lines.append(
        "  ".join(
            f"{kind.replace('_', ' ')}: {len(minions)}" for kind, minions in data["summary"].items()
        )
    )
    if data.get("textfile"):
        lines.append(f"fleet metrics written to {data['textfile']}")
    return "\n".join(line.rstrip() for line in lines)
