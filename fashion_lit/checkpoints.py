"""Finding the checkpoints of earlier runs on disk.

Lightning resolves ``ckpt_path="best"``/``"last"`` from the ModelCheckpoint callback of
the *current* process only, so ``test --ckpt_path last`` in a fresh process would test
untrained weights. These functions find them in the run folders instead: the most
recent run is the one whose ``checkpoints/`` folder changed last.
"""

import os
from pathlib import Path

import torch

LAST = "last.ckpt"
#: The folder of the run folders, as the CLI's TensorBoardLogger lays them out.
RUNS_ROOT = "lightning_logs"


class CheckpointNotFoundError(FileNotFoundError):
    """There is no checkpoint to load for the requested alias."""


def find_latest_run(runs_root: str | os.PathLike) -> Path:
    """The run folder under ``runs_root`` that most recently saved a checkpoint."""
    root = Path(runs_root)
    runs = [p.parent for p in root.glob("*/checkpoints") if p.is_dir()] if root.is_dir() else []
    if not runs:
        raise CheckpointNotFoundError(
            f"No trained run found under {root}: no folder there has a checkpoints/ "
            "subfolder. Train first (`python -m fashion_lit fit --config "
            "configs/quickstart.yaml`), or pass --ckpt_path path/to/file.ckpt."
        )
    return max(runs, key=lambda run: (run / "checkpoints").stat().st_mtime_ns)


def _available(run: Path) -> str:
    files = sorted(p.name for p in (run / "checkpoints").glob("*.ckpt"))
    return ", ".join(files) if files else "none"


def resolve_last(run: Path) -> Path:
    """``<run>/checkpoints/last.ckpt``, or an error that lists what the run holds."""
    last = run / "checkpoints" / LAST
    if not last.is_file():
        raise CheckpointNotFoundError(
            f"Run folder {run} has no checkpoints/{LAST} (checkpoints there: "
            f"{_available(run)}). Keep checkpoint.save_last: true when training, or pass "
            "--ckpt_path path/to/file.ckpt."
        )
    return last


def resolve_best(run: Path) -> Path:
    """The best checkpoint of ``run``, as recorded by its ModelCheckpoint in ``last.ckpt``.

    ``last.ckpt`` is written after the top-k checkpoints of the same epoch, so the best
    path it records is current. Without it, a run that kept a single checkpoint besides
    ``last.ckpt`` has an unambiguous best.
    """
    folder = run / "checkpoints"
    last = folder / LAST
    if last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=True)
        for key, callback_state in state.get("callbacks", {}).items():
            if key.startswith("ModelCheckpoint") and callback_state.get("best_model_path"):
                # Recorded as an absolute path; the run folder may have moved since.
                best = folder / Path(callback_state["best_model_path"]).name
                if best.is_file():
                    return best
    others = [p for p in folder.glob("*.ckpt") if not p.name.startswith("last")]
    if len(others) == 1:
        return others[0]
    raise CheckpointNotFoundError(
        f"Cannot tell the best checkpoint of run folder {run} (checkpoints there: "
        f"{_available(run)}). Pass --ckpt_path path/to/file.ckpt."
    )


def resolve_alias(alias: str, runs_root: str | os.PathLike) -> Path:
    """Turn ``"best"`` or ``"last"`` into a checkpoint file of the most recent run."""
    run = find_latest_run(runs_root)
    return resolve_best(run) if alias == "best" else resolve_last(run)
