"""
The shared package itself (saltext.sendmail.shared): after a sync replaces its files, a loader
module that loads again gets the new code, as Salt's loader reloads what it loads itself.
"""

import json
import shutil
import subprocess
import sys

from tests.unit.support import REPO

SCRIPT = """
import json, pathlib, sys
sys.path.insert(0, sys.argv[1])
from saltext.sendmail import shared
from saltext.sendmail.shared import judgement
unchanged = shared.fresh() is shared
synced = pathlib.Path(sys.argv[1], "saltext", "sendmail", "shared", "judgement.py")
synced.write_text(synced.read_text() + "\\nSYNCED = True\\n")
again = shared.fresh()
from saltext.sendmail.shared import judgement as judgement_again
print(json.dumps([unchanged, again is not shared, hasattr(judgement_again, "SYNCED"),
                  hasattr(judgement, "SYNCED")]))
"""


def test_a_changed_file_is_read_again_and_an_unchanged_package_is_kept(tmp_path):
    # A copy: the test changes a file, as a sync would. A fresh Python, as a minion is.
    shutil.copytree(REPO / "_utils", tmp_path / "utils", ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "utils")],
        capture_output=True,
        text=True,
        check=True,
    )
    # Unchanged: the same modules. Changed: the new module for every import after fresh(); the
    # old module objects (held by the loader modules of before) stay as they were.
    assert json.loads(proc.stdout) == [True, True, True, False]
