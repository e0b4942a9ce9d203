"""
Prometheus's own programs from Debian's packages, unpacked by scripts/setup.sh into
.cache/prometheus (never installed on this machine), and a reader of the exposition format.
"""

import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2] / ".cache" / "prometheus" / "usr" / "bin"
PROMTOOL = str(ROOT / "promtool")
PROMETHEUS = str(ROOT / "prometheus")
NODE_EXPORTER = str(ROOT / "prometheus-node-exporter")

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text):
    """``{(name, ((label, value), ...)): value}`` of an exposition; labels sorted by name."""
    found = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        labels = tuple(sorted(_LABEL.findall(match.group(2) or "")))
        value = float(match.group(3))
        found[(match.group(1), labels)] = int(value) if value.is_integer() else value
    return found


def promtool(*args, text=None):
    """Run Debian's promtool (``check metrics`` reads ``text`` on stdin): its exit code and output."""
    if not pathlib.Path(PROMTOOL).exists():
        pytest.fail(
            f"{PROMTOOL} is missing: these tests check the metrics with Debian's promtool, which "
            "scripts/setup.sh unpacks (bash scripts/setup.sh 3008, or scripts/test.sh, which runs it)",
            pytrace=False,
        )
    proc = subprocess.run(
        [PROMTOOL, *args], input=text, capture_output=True, text=True, timeout=120, check=False
    )
    return proc.returncode, proc.stdout + proc.stderr
