"""
The package's layout rules, read from its source: every public execution function documents itself
with a CLI example, as Salt's own modules do, and only ``__init__.py`` touches Salt's dunders.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "_modules" / "sendmail"
SUBMODULES = sorted(path for path in PACKAGE.glob("*.py") if path.name != "__init__.py")
DUNDERS = ("__salt__", "__grains__", "__opts__", "__context__", "__pillar__")


def test_public_functions_have_cli_examples():
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    functions = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    ]
    assert len(functions) >= 15
    for function in functions:
        doc = ast.get_docstring(function) or ""
        assert "CLI Example:" in doc, f"{function.name} has no CLI example"
        assert f"salt '*' sendmail.{function.name}" in doc, function.name


def test_the_runner_documents_itself_and_exposes_only_its_two_commands():
    tree = ast.parse((PACKAGE.parents[1] / "_runners" / "sendmail.py").read_text())
    public = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    ]
    assert [function.name for function in public] == ["report", "patch_relays"]
    for function in public:
        example = ast.get_docstring(function).split("CLI Example:")[1]
        assert f"salt-run sendmail.{function.name}" in example


def test_package_imports_no_submodule_function_into_what_salt_loads():
    # The loader exposes every public function whose module is under salt.loaded: only modules
    # may be imported into __init__.py, or submodule functions become CLI functions too.
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    names = {path.stem for path in SUBMODULES}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            assert node.module is None, f"from .{node.module} import ...: import the module instead"
            assert {alias.name for alias in node.names} <= names


@pytest.mark.parametrize("path", SUBMODULES, ids=lambda path: path.name)
def test_submodules_take_what_they_need_as_arguments(path):
    text = path.read_text()
    assert not [dunder for dunder in DUNDERS if dunder in text], f"{path.name} uses a loader dunder"


@pytest.mark.parametrize("path", [PACKAGE / "__init__.py", *SUBMODULES], ids=lambda path: path.name)
def test_no_file_of_the_package_is_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= 500, f"{path.name} should be split by concept"


def test_no_submodule_is_named_like_a_public_function():
    # `from . import services` inside the package would find the public function services (an
    # attribute of the package) instead of importing services.py.
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    public = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert not public & {path.stem for path in SUBMODULES}


@pytest.mark.parametrize("path", SUBMODULES, ids=lambda path: path.name)
def test_every_submodule_has_its_unit_tests(path):
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
PYTHON_FILES = sorted(
    [
        *PACKAGE.glob("*.py"),
        *(
            PACKAGE.parents[1] / kind / name
            for kind, name in (
                ("_states", "sendmail.py"),
                ("_grains", "sendmail.py"),
                ("_beacons", "sendmail.py"),
                ("_runners", "sendmail.py"),
                ("_output", "sendmail_report.py"),
            )
        ),
    ]
)


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
