"""The tests' own layout: what tests share is in ``tests/helpers/``, and no test file
imports another, so that each can be read, moved or deleted on its own."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def is_test_module(name: str) -> bool:
    """Whether the dotted ``name`` is a test file of this folder or its conftest."""
    parts = name.split(".")
    return (
        len(parts) >= 2
        and parts[0] == "tests"
        and (parts[1].startswith("test_") or parts[1] == "conftest")
    )


def imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    """Every module an ``import`` statement names, with its line, at any depth."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "tests" and node.level == 0:
            # `from tests import test_x` names the module as an attribute of the package.
            found += [(node.lineno, f"tests.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_no_file_under_tests_imports_a_test_module_or_the_conftest():
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line} imports {name}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, name in imported_modules(ast.parse(path.read_text(), str(path)))
        if is_test_module(name)
    ]
    assert offenders == [], "move what is shared into tests/helpers/:\n" + "\n".join(offenders)


def test_the_modules_beside_the_tests_are_tests_fixtures_or_the_package():
    loose = [
        path.name
        for path in sorted(TESTS.glob("*.py"))
        if not path.name.startswith("test_") and path.name not in ("conftest.py", "__init__.py")
    ]
    assert loose == [], f"helpers belong in tests/helpers/: {loose}"
