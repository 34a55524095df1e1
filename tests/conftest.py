"""Shared test fixtures: a tiny FashionMNIST-shaped data set and the CLI arguments to use it.

Every CLI test starts from ``tiny_args``: a run on the tiny data set of
``tests.helpers.tiny_data``, so that a single epoch learns something and the tests run
in seconds. Fixtures only: what tests share besides is in ``tests.helpers``.
"""

import sys
from pathlib import Path

import pytest

from fashion_lit.__main__ import run
from fashion_lit.data import acquire
from tests.helpers.tiny_data import TINY_VAL, tiny_options, write_tiny_mirror


@pytest.fixture(scope="session")
def tiny_mirror(tmp_path_factory) -> Path:
    return write_tiny_mirror(tmp_path_factory.mktemp("mirror"))


@pytest.fixture(scope="session")
def tiny_checksums(tiny_mirror) -> Path:
    """The manifest that verifies the tiny data set (``data.checksums``)."""
    return tiny_mirror / "checksums.json"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """Run in an empty folder, so that data/ and lightning_logs/ land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def tiny_args(tiny_mirror, tiny_checksums, workdir) -> list[str]:
    """``tiny_options``, run in an empty folder."""
    return tiny_options(tiny_mirror, tiny_checksums)


@pytest.fixture
def run_cli(monkeypatch):
    """Run ``python -m fashion_lit`` in-process with the given arguments; a Lightning
    command returns its CLI."""
    # As from a shell: the arguments are the CLI's own, not pytest's.
    monkeypatch.setattr(sys, "argv", ["python -m fashion_lit"])
    return lambda *args: run(list(args))


@pytest.fixture
def tiny_data(tiny_mirror, tiny_checksums, workdir) -> tuple[str, str]:
    """The tiny data set, acquired into ``data/``; the fashion_lit options that read it
    (for the benchmark scripts, which take a data folder)."""
    acquire(workdir / "data", [tiny_mirror], download=False, checksums=tiny_checksums)
    options = f"--data.checksums={tiny_checksums} --data.val_size={TINY_VAL} --data.download=false"
    return str(workdir / "data"), options
