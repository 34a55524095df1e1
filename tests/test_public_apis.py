"""fashion_lit uses the public APIs of its libraries only.

A ``_``-prefixed name of Lightning, PyTorch or any other library can change in any minor
release, while ``pyproject.toml`` promises whole version ranges. Every ``_name`` the
package uses must therefore be one it defines itself.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fashion_lit"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def trees(package: Path) -> dict[Path, ast.AST]:
    return {path: ast.parse(path.read_text()) for path in sorted(package.rglob("*.py"))}


def names_defined_in(package: Path) -> set[str]:
    defined = set()
    for tree in trees(package).values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                defined.add(node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                defined.add(node.target.id)
            elif isinstance(node, ast.arg):
                defined.add(node.arg)
    return {name for name in defined if is_private(name)}


def foreign_private_names(package: Path) -> list[str]:
    """``file:line name`` for each ``_name`` used in ``package`` that it does not define."""
    own = names_defined_in(package)
    foreign = []
    for path, tree in trees(package).items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not (node.module or "").startswith(
                "fashion_lit"
            ):
                used = [alias.name for alias in node.names]
                used += (node.module or "").split(".")
            elif isinstance(node, ast.Import):
                used = [part for alias in node.names for part in alias.name.split(".")]
            elif isinstance(node, ast.Attribute):
                used = [node.attr]
            else:
                continue
            foreign += [
                f"{path.relative_to(package.parent)}:{node.lineno} {name}"
                for name in used
                if is_private(name) and name not in own
            ]
    return foreign


def test_every_private_name_used_is_fashion_lits_own():
    assert foreign_private_names(PACKAGE) == []


def test_the_check_finds_the_private_names_of_a_library(tmp_path):
    package = tmp_path / "fashion_lit"
    package.mkdir()
    (package / "bad.py").write_text(
        "from lightning.fabric.utilities.types import _PATH\n"
        "def f(writer):\n    return writer._get_file_writer()\n"
    )
    assert foreign_private_names(package) == [
        "fashion_lit/bad.py:1 _PATH",
        "fashion_lit/bad.py:3 _get_file_writer",
    ]
