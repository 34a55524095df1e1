"""Shared test fixtures: a tiny FashionMNIST-shaped data set and the CLI arguments to use it.

Every CLI test starts from ``tiny_args``: a run on a few hundred generated 28×28 images
whose class is drawn into the picture (a bright band at a class-dependent height), so
that a single epoch learns something and the tests run in seconds. The tiny set is
verified like the real one, against its own checksum manifest.
"""

import gzip
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from lightning.pytorch import Trainer

from fashion_lit.cli import cli_main
from fashion_lit.data.checksums import write_checksums

TINY_TRAIN, TINY_TEST, TINY_VAL = 640, 160, 128
REPO = Path(__file__).resolve().parents[1]


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    """Write a uint8 array in the IDX format FashionMNIST uses (optionally gzipped)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(path, "wb") as out:
            out.write(payload)
    else:
        path.write_bytes(payload)


def tiny_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` noisy images whose label is the height of a bright band."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=count).astype(np.uint8)
    images = rng.integers(0, 60, size=(count, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels, strict=True):
        image[2 + 2 * label : 5 + 2 * label, 4:24] = 255
    return images, labels


def write_tiny_mirror(folder: Path) -> Path:
    """A folder laid out like Debian's: the four FashionMNIST ``.gz`` files.

    Beside them: ``decompressed/``, the same files decompressed, and ``checksums.json``,
    their manifest.
    """
    for prefix, count, seed in (("train", TINY_TRAIN, 1), ("t10k", TINY_TEST, 2)):
        images, labels = tiny_images(count, seed)
        for name, array in (
            (f"{prefix}-images-idx3-ubyte", images),
            (f"{prefix}-labels-idx1-ubyte", labels),
        ):
            write_idx(folder / f"{name}.gz", array)
            write_idx(folder / "decompressed" / name, array, compress=False)
    write_checksums(folder / "decompressed", folder / "checksums.json")
    return folder


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


def tiny_options(mirror: Path, checksums: Path) -> list[str]:
    """Options that point any subcommand at the tiny data set, on the CPU, quietly."""
    return [
        f"--data.sources=[{mirror}]",
        f"--data.checksums={checksums}",
        "--data.download=false",
        f"--data.val_size={TINY_VAL}",
        "--data.batch_size=32",
        "--trainer.accelerator=cpu",
        "--trainer.devices=1",
        "--trainer.max_epochs=2",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
    ]


@pytest.fixture
def tiny_args(tiny_mirror, tiny_checksums, workdir) -> list[str]:
    """``tiny_options``, run in an empty folder."""
    return tiny_options(tiny_mirror, tiny_checksums)


@pytest.fixture
def run_cli(monkeypatch):
    """Run ``python -m fashion_lit`` in-process with the given arguments."""
    # As from a shell: the arguments are the CLI's own, not pytest's.
    monkeypatch.setattr(sys, "argv", ["python -m fashion_lit"])
    return lambda *args: cli_main(list(args))


def expect_cli_error(run_cli, capsys, *args) -> str:
    """Run the CLI, expect a usage error (exit status 2), return its message."""
    with pytest.raises(SystemExit) as exit_:
        run_cli(*args)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def quiet_trainer(**kwargs) -> Trainer:
    """A CPU Trainer that logs, checkpoints and prints nothing: for module-level tests."""
    return Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def trained_checkpoint(folder: Path, mirror: Path, checksums: Path) -> Path:
    """Train one epoch on the tiny data in ``folder``; the path of its ``last.ckpt``.

    For module-scoped fixtures, which cannot use the function-scoped ``run_cli``.
    """
    previous_dir, previous_argv = os.getcwd(), sys.argv
    os.chdir(folder)
    sys.argv = ["python -m fashion_lit"]
    try:
        cli = cli_main(["fit", *tiny_options(mirror, checksums), "--trainer.max_epochs=1"])
    finally:
        os.chdir(previous_dir)
        sys.argv = previous_argv
    return folder / cli.trainer.log_dir / "checkpoints" / "last.ckpt"
