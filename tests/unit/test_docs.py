"""Every public execution function documents itself with a CLI example, as Salt's own modules do."""

import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted((REPO / "_modules").glob("*.py"))


def public_functions(path):
    tree = ast.parse(path.read_text())
    return [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_public_functions_have_cli_examples(path):
    functions = public_functions(path)
    assert functions
    for function in functions:
        doc = ast.get_docstring(function) or ""
        assert "CLI Example:" in doc, f"{path.name}:{function.name} has no CLI example"
        assert f"salt '*' {path.stem}.{function.name}" in doc, function.name
