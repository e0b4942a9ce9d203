"""
The package's layout rules, read from its source: every public execution function documents itself
with a CLI example, as Salt's own modules do; only the loader modules touch Salt's dunders, and they
import the shared package's modules, never a file by its path.
"""

import ast
import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
MODULE = REPO / "_modules" / "sendmail.py"
SHARED = REPO / "_utils" / "saltext" / "sendmail" / "shared"
SHARED_MODULES = sorted(path for path in SHARED.glob("*.py") if path.name != "__init__.py")
# What Salt's loaders load: each imports the shared package, and only they touch the dunders.
LOADER_FILES = [
    MODULE,
    *(
        REPO / kind / name
        for kind, name in (
            ("_states", "sendmail.py"),
            ("_grains", "sendmail.py"),
            ("_beacons", "sendmail.py"),
            ("_runners", "sendmail.py"),
            ("_output", "sendmail_report.py"),
        )
    ),
]
DUNDERS = ("__salt__", "__grains__", "__opts__", "__context__", "__pillar__")


def _public_functions(path):
    tree = ast.parse(path.read_text())
    return [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    ]


def test_public_functions_have_cli_examples():
    functions = _public_functions(MODULE)
    assert len(functions) >= 15
    for function in functions:
        doc = ast.get_docstring(function) or ""
        assert "CLI Example:" in doc, f"{function.name} has no CLI example"
        assert f"salt '*' sendmail.{function.name}" in doc, function.name


def _documented(doc, parameter):
    """A parameter is described as a definition term of its own (Salt's style) or named in ``...``."""
    terms = {
        term
        for line in doc.splitlines()
        if re.fullmatch(r"[a-z_]+(, [a-z_]+)*", line)
        for term in line.split(", ")
    }
    return parameter in terms or f"``{parameter}``" in doc


def docstring_problems(text, kind):
    """
    What the reference would lack for the public functions of a loader module's ``text``: a
    parameter not described, an execution or runner function without its CLI example (as Salt's
    check-cli-examples hook asks), a state function without an SLS example.
    """
    problems = []
    for function in (node for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)):
        if function.name.startswith("_"):
            continue
        doc = ast.get_docstring(function) or ""
        parameters = [arg.arg for arg in [*function.args.args, *function.args.kwonlyargs]]
        problems += [
            f"{function.name}: {name} not described" for name in parameters if not _documented(doc, name)
        ]
        if kind == "state":
            example = doc.split(".. code-block:: yaml", 1)
            if len(example) != 2 or f"sendmail.{function.name}:" not in example[1]:
                problems.append(f"{function.name}: no SLS example")
        else:
            command = "salt '*' sendmail" if kind == "execution" else "salt-run sendmail"
            example = doc.split("CLI Example:", 1)
            if len(example) != 2 or f"{command}.{function.name}" not in example[1]:
                problems.append(f"{function.name}: no CLI example")
    return problems


LOADERS = {
    "_modules/sendmail.py": "execution",
    "_runners/sendmail.py": "runner",
    "_states/sendmail.py": "state",
}


@pytest.mark.parametrize("relative", LOADERS)
def test_every_public_function_documents_its_parameters_and_an_example(relative):
    assert docstring_problems((REPO / relative).read_text(), LOADERS[relative]) == []


@pytest.mark.parametrize(
    ("relative", "cut", "said"),
    [
        ("_modules/sendmail.py", "    CLI Example:\n", "version: no CLI example"),
        ("_modules/sendmail.py", "    textfile_dir\n", "metrics: textfile_dir not described"),
        ("_runners/sendmail.py", "    CLI Example:\n", "no CLI example"),
        ("_states/sendmail.py", "          sendmail.metrics: []\n", "metrics: no SLS example"),
    ],
)
def test_a_docstring_that_loses_its_example_or_a_parameter_fails(relative, cut, said):
    text = (REPO / relative).read_text()
    assert cut in text
    assert said in "; ".join(docstring_problems(text.replace(cut, "", 1), LOADERS[relative]))


def test_the_runner_documents_itself_and_exposes_only_its_two_commands():
    public = _public_functions(REPO / "_runners" / "sendmail.py")
    assert [function.name for function in public] == ["report", "patch_relays"]
    for function in public:
        example = ast.get_docstring(function).split("CLI Example:")[1]
        assert f"salt-run sendmail.{function.name}" in example


@pytest.mark.parametrize("path", LOADER_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_loader_modules_import_shared_modules_never_their_functions(path):
    # The loader exposes every public function whose module is under salt.loaded: a function
    # imported into a loader module would become a CLI function too. Modules only.
    names = {path.stem for path in SHARED_MODULES}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "saltext.sendmail.shared":
            assert {alias.name for alias in node.names} <= names, (path.name, node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "saltext.sendmail":
            assert [alias.name for alias in node.names] == ["shared"], (path.name, node.lineno)


@pytest.mark.parametrize("path", [*LOADER_FILES, *SHARED_MODULES, SHARED / "__init__.py"], ids=str)
def test_no_module_loads_another_by_its_path(path):
    text = path.read_text()
    for loads_a_path in (
        "spec_from_file_location",
        "sys.path.insert",
        "sys.path.append",
        "SourceFileLoader",
    ):
        assert loads_a_path not in text, path.name


@pytest.mark.parametrize("path", SHARED_MODULES, ids=lambda path: path.name)
def test_shared_modules_take_what_they_need_as_arguments(path):
    text = path.read_text()
    assert not [dunder for dunder in DUNDERS if dunder in text], f"{path.name} uses a loader dunder"


@pytest.mark.parametrize("path", LOADER_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_loader_file_is_under_500_lines_as_ruff_formats_it(path):
    # What Salt loads stays thin, docstrings and all: the engine of anything lives in shared/.
    assert len(path.read_text().splitlines()) < 500, f"{path} has grown: move its logic to shared/"


@pytest.mark.parametrize("path", [*LOADER_FILES, *SHARED_MODULES], ids=lambda path: path.name)
def test_no_file_of_the_package_is_over_500_lines_of_code(path):
    # Docstrings aside: they are each function's reference (parameters, CLI examples), and a long
    # one is no sign that a file holds two concepts.
    text = path.read_text()
    docstring_lines = set()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
            docstring_lines.update(range(first.lineno, first.end_lineno + 1))
    code = len(text.splitlines()) - len(docstring_lines)
    assert code <= 500, f"{path.name} has {code} lines of code: split it by concept"


@pytest.mark.parametrize("path", SHARED_MODULES, ids=lambda path: path.name)
def test_every_shared_module_has_its_unit_tests(path):
    assert (pathlib.Path(__file__).parent / f"test_{path.name}").exists()


# Modules removed from the standard library by Python 3.12 (PEP 594's first wave, distutils, imp)
# and 3.13 (the rest of PEP 594), and names removed by 3.14: Salt 3008's onedir packages run 3.14,
# which cannot be installed here, so the package is checked against this list instead.
REMOVED_MODULES = frozenset(
    """aifc asynchat asyncore audioop cgi cgitb chunk crypt distutils imghdr imp mailcap msilib nis
    nntplib ossaudiodev pipes smtpd sndhdr spwd sunau telnetlib uu xdrlib lib2to3 tkinter.tix""".split()  # noqa: SIM905
)
REMOVED_NAMES = frozenset(
    """Num Str Bytes NameConstant Ellipsis find_loader get_loader get_child_watcher
    set_child_watcher AbstractChildWatcher ResourceReader Traversable TraversableResources
    URLopener FancyURLopener""".split()  # noqa: SIM905
)
PYTHON_FILES = [*LOADER_FILES, *SHARED_MODULES, SHARED / "__init__.py"]


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda path: path.name)
def test_nothing_python_3_14_removed_is_used(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules = {node.module}
            assert not {alias.name for alias in node.names} & REMOVED_NAMES, (path.name, node.lineno)
        else:
            modules = set()
            if isinstance(node, ast.Attribute):
                assert node.attr not in REMOVED_NAMES, (path.name, node.lineno, node.attr)
        assert not {module.split(".")[0] for module in modules} & REMOVED_MODULES, (
            path.name,
            node.lineno,
        )
