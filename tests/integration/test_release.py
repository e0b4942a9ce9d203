"""
Releases as docs "Changes and releases" says they are cut: a clean clone of this repository, tagged,
builds a wheel and an sdist named by the tag (setuptools-scm), which twine checks; a clone without
tags builds a dev version; the built package says its version; and the documentation site that
scripts/test.sh built (nox -e docs) holds every public function with its parameters. The builds run
offline, without build isolation, with the pinned tools of .venv-tools (scripts/setup.sh).
"""

import ast
import pathlib
import re
import subprocess
import zipfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOLS = REPO / ".venv-tools" / "bin"


def run(*argv, cwd=None):
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, f"{argv}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def clone(tmp_path, tag=None):
    target = tmp_path / "clone"
    run("git", "clone", "--quiet", "--no-local", "--no-tags", str(REPO), str(target))
    if tag:
        run("git", "-C", str(target), "tag", tag)
    return target


def build(source, out):
    run(str(TOOLS / "python"), "-m", "build", "--no-isolation", "--outdir", str(out), str(source))
    return sorted(path.name for path in out.iterdir())


def test_a_tagged_clean_clone_builds_the_tags_version_and_twine_passes_it(tmp_path):
    source = clone(tmp_path, tag="v9.8.7")
    built = build(source, tmp_path / "dist")
    assert built == ["saltext_sendmail-9.8.7-py3-none-any.whl", "saltext_sendmail-9.8.7.tar.gz"]
    said = run(
        str(TOOLS / "twine"), "check", "--strict", *[str(tmp_path / "dist" / name) for name in built]
    )
    assert said.count("PASSED") == 2, said
    with zipfile.ZipFile(tmp_path / "dist" / built[0]) as wheel:
        version_file = wheel.read("saltext/sendmail/version.py").decode()
        assert re.search(r"__version__ = (version = )?'9\.8\.7'", version_file), version_file
        assert "saltext/sendmail/prometheus/sendmail.rules.yml" in wheel.namelist()


def test_a_clone_without_tags_builds_a_dev_version(tmp_path):
    source = clone(tmp_path)
    wheel = build(source, tmp_path / "dist")[0]
    assert re.fullmatch(r"saltext_sendmail-0\.0\.1\.dev\d+\+g[0-9a-f]+-py3-none-any\.whl", wheel), wheel


def test_a_source_archive_a_copy_without_git_and_the_sdist_each_build(tmp_path):
    """What people download: a forge's source archive, a copied tree, the released sdist."""
    source = clone(tmp_path, tag="v9.8.7")
    archive = tmp_path / "archive"
    archive.mkdir()
    tar = subprocess.run(
        ["git", "-C", str(source), "archive", "--format=tar", "HEAD"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(archive)], input=tar.stdout, check=True)
    assert not (archive / ".git").exists()
    assert build(archive, tmp_path / "from-archive") == [
        "saltext_sendmail-9.8.7-py3-none-any.whl",
        "saltext_sendmail-9.8.7.tar.gz",
    ]
    copy = tmp_path / "copy"
    run("cp", "-r", str(source), str(copy))
    run("rm", "-rf", str(copy / ".git"), str(copy / ".git_archival.txt"))
    assert build(copy, tmp_path / "from-copy")[0] == "saltext_sendmail-0.0.0-py3-none-any.whl"
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    run(
        "tar",
        "-xzf",
        str(tmp_path / "from-archive" / "saltext_sendmail-9.8.7.tar.gz"),
        "-C",
        str(unpacked),
    )
    wheel = build(unpacked / "saltext_sendmail-9.8.7", tmp_path / "from-sdist")[0]
    assert wheel == "saltext_sendmail-9.8.7-py3-none-any.whl"


PUBLIC = [
    node
    for node in ast.parse((REPO / "_modules" / "sendmail.py").read_text()).body
    if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
]


@pytest.fixture(scope="module")
def reference():
    page = REPO / "docs" / "_build" / "html" / "ref" / "modules.html"
    assert page.exists(), "no built docs: scripts/test.sh builds them first (nox -e docs)"
    return page.read_text()


@pytest.mark.parametrize("function", PUBLIC, ids=lambda function: function.name)
def test_the_built_reference_holds_every_public_function_with_its_parameters(reference, function):
    anchor = f'id="saltext.sendmail.modules.sendmail.{function.name}"'
    assert anchor in reference
    entry = reference.split(anchor, 1)[1].split('<dt class="sig', 1)[0]
    signature, description = entry.split("</dt>", 1)
    for parameter in [arg.arg for arg in function.args.args]:
        assert f'<span class="pre">{parameter}</span>' in signature, parameter
        assert parameter in description, f"{function.name}: {parameter} is not described"
    assert "CLI Example" in description
