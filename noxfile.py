"""
The sessions that build and check what the test suite does not run (scripts/test.sh runs that, and
calls ``nox -e lint docs``): ``nox -e docs`` (the Sphinx site, warnings as errors), ``nox -e lint``
(ruff, yamllint, salt-lint), ``nox -e changelog`` (the next release's notes from ``changelog/``,
as a draft) and ``nox -e build`` (the wheel and the sdist, named by the git tag, checked by twine).
Each session's tools are pinned in a requirements file.
"""

import pathlib
import shutil

import nox

REPO = pathlib.Path(__file__).resolve().parent
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "docs"]


@nox.session
def docs(session):
    """The HTML site in docs/_build/html; any warning (a broken reference, bad markup) fails."""
    session.install("-r", "docs/requirements.txt")
    # The package itself, without Salt: the docs stand in for its imports (docs/conf.py).
    session.install("--no-deps", "--force-reinstall", ".")
    shutil.rmtree(REPO / "docs" / "_build", ignore_errors=True)
    session.run("sphinx-build", "-W", "--keep-going", "-q", "-b", "html", "docs", "docs/_build/html")


@nox.session
def lint(session):
    """The style checks of scripts/test.sh, with the same pinned tools."""
    session.install("-r", "requirements-lint.txt")
    session.run("ruff", "check", "--quiet", ".")
    session.run("ruff", "format", "--check", "--quiet", ".")
    session.run(
        "yamllint", "--strict", "pillar.example", "pillar.minimal.example", ".yamllint", ".salt-lint"
    )
    session.run(
        "salt-lint",
        *map(str, sorted((REPO / "salt" / "sendmail").glob("*.sls"))),
        "pillar.example",
        "pillar.minimal.example",
    )


@nox.session
def changelog(session):
    """What the next release's CHANGELOG.md section would say (``changelog/`` fragments), unchanged."""
    session.install("-r", "requirements-release.txt")
    session.run(
        "towncrier", "build", "--draft", "--version", session.posargs[0] if session.posargs else "next"
    )


@nox.session
def build(session):
    """The wheel and the sdist in dist/, their version from the git tag, checked by twine."""
    session.install("-r", "requirements-release.txt")
    shutil.rmtree(REPO / "dist", ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", "dist", ".")
    session.run("twine", "check", "--strict", *map(str, sorted((REPO / "dist").iterdir())))
