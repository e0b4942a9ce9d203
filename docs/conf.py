"""
Sphinx configuration of the saltext-sendmail documentation (``nox -e docs``): Markdown topics
(myst-parser), one reference page per loader module generated from the docstrings (autodoc), the
furo theme. The pillar reference is generated from the one schema (``_ext/pillar_table.py``).
"""

import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
# The extensions of this site (the pillar table). The package itself comes installed (nox installs it).
sys.path.insert(0, str(DOCS / "_ext"))

project = "saltext-sendmail"
author = "saltext-sendmail contributors"
copyright = "2026, saltext-sendmail contributors"

try:
    from saltext.sendmail import __version__ as release
except ImportError:  # building from a checkout without the package installed
    release = "dev"
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "pillar_table",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "requirements.txt"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Salt is not installed to build the docs (it builds from source): the loader modules' imports of it
# are stood in for, as Salt's extensions do.
autodoc_mock_imports = ["salt", "psutil"]
autodoc_default_options = {"members": True, "undoc-members": False, "member-order": "bysource"}
autodoc_typehints = "none"

html_theme = "furo"
html_title = f"saltext-sendmail {release}"
