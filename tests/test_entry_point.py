"""The entry point: one light router for ``python -m fashion_lit`` and ``fashion-lit``, and
a package without import circles."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fashion_lit.__main__ import COMMANDS
from tests.helpers.paths import REPO

PACKAGE = REPO / "fashion_lit"


def imported_modules(path: Path, module: str) -> set[str]:
    """The fashion_lit modules that ``module`` (the file ``path``) imports, anywhere in it."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "fashion_lit"}


def import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {
        name: {dep for dep in imported_modules(path, name) if dep in modules and dep != name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle of imports, each once, found by depth-first search."""
    found, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            circle = path[path.index(node) :]
            if not any(set(circle) == set(known) for known in found):
                found.append(circle)
            return
        if node in done:
            return
        for dep in sorted(graph[node]):
            visit(dep, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_no_module_of_fashion_lit_imports_itself_back_through_others():
    graph = import_graph()
    assert "fashion_lit.cli" in graph and graph["fashion_lit.__main__"]  # the graph is real
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_in_the_package_imports_the_router():
    importers = [name for name, deps in import_graph().items() if "fashion_lit.__main__" in deps]
    assert importers == []


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def test_top_level_help_lists_every_command_without_importing_torch_or_lightning():
    done = run("-X", "importtime", "-m", "fashion_lit", "--help")
    assert done.returncode == 0
    assert len(COMMANDS) == 7
    for name, (_, about) in COMMANDS.items():
        assert f"\n  {name:<9} {about}\n" in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    assert "fashion_lit.__main__" in imported or "fashion_lit" in imported
    assert not {"torch", "lightning", "optuna", "fastapi"} & imported


def test_an_unknown_command_is_refused_with_the_list():
    done = run("-m", "fashion_lit", "fitt")
    assert done.returncode == 2
    assert "error: no command 'fitt'; did you mean fit?" in done.stderr
    assert "  tune " in done.stderr


@pytest.mark.parametrize("command", ["export", "serve", "tune"])
def test_each_own_command_answers_its_help_without_lightnings_cli(command, run_cli, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(command, "--help")
    assert exit_.value.code == 0
    assert f"usage: python -m fashion_lit {command}" in capsys.readouterr().out


def test_serve_and_export_never_import_optuna():
    code = (
        "import sys; from fashion_lit.__main__ import run\n"
        "for command in ('serve', 'export'):\n"
        "    try: run([command, '--help'])\n"
        "    except SystemExit: pass\n"
        "print(sorted(name for name in ('optuna', 'fashion_lit.serve.command', "
        "'fashion_lit.export') if name in sys.modules))"
    )
    done = run("-c", code)
    assert done.stdout.splitlines()[-1] == "['fashion_lit.export', 'fashion_lit.serve.command']"


def test_the_package_names_resolve_when_first_used():
    code = (
        "import sys, fashion_lit\n"
        "assert 'torch' not in sys.modules\n"
        "from fashion_lit import ImageClassifier, NeuralNetwork, FashionMNISTDataModule, CLASSES\n"
        "print(ImageClassifier.__module__, NeuralNetwork.__module__, CLASSES[9])"
    )
    done = run("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fashion_lit.module", "fashion_lit.network", "Ankle", "boot"]
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        import fashion_lit

        fashion_lit.Nothing  # noqa: B018
