"""Checkpoints for the tests: a real one from a tiny run, and files that must be refused."""

import os
import sys
from pathlib import Path

import torch
from torch import nn

from fashion_lit.cli import cli_main
from tests.helpers.tiny_data import tiny_options

#: What the refusal of a checkpoint that would run code says.
CODE = "refused: it would run code when loaded"


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


class CreatesAFile:
    """Unpickling this would create ``path``: what a poisoned checkpoint does."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def other_architecture_state_dict() -> dict[str, torch.Tensor]:
    """Weights under the tutorial network's names, of a network with other layer sizes."""
    net = nn.Sequential(
        nn.Flatten(), nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    )
    return {f"linear_relu_stack.{k.split('.', 1)[1]}": v for k, v in net.state_dict().items()}
