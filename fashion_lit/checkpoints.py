"""Finding the checkpoints of earlier runs on disk, and checking them before use.

Lightning resolves ``ckpt_path="best"``/``"last"`` from the ModelCheckpoint callback of
the *current* process only, so ``test --ckpt_path last`` in a fresh process would test
untrained weights. These functions find them in the run folders instead: the most
recent run is the one whose ``checkpoints/`` folder changed last.

A bad checkpoint otherwise fails late, after the data is set up, with PyTorch's
explanation of ``weights_only`` for a truncated file and a traceback for a checkpoint of
another network; ``read_checkpoint`` and ``check_state_dict_fits`` say what is wrong
and with which file, before anything runs.
"""

import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

LAST = "last.ckpt"
#: The folder of the run folders, as the CLI's TensorBoardLogger lays them out.
RUNS_ROOT = "lightning_logs"


class CheckpointError(Exception):
    """A checkpoint or state_dict that cannot be found, read, or used with this model."""


class CheckpointNotFoundError(CheckpointError):
    """There is no checkpoint to load for the requested alias or path."""


class CorruptCheckpointError(CheckpointError):
    """The file cannot be read as a checkpoint or a state_dict."""


class ArchitectureMismatchError(CheckpointError):
    """The weights were saved from a network of another shape."""


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
    return _listing(run / "checkpoints")


def _listing(folder: Path) -> str:
    files = sorted(p.name for p in folder.glob("*.ckpt"))
    return ", ".join(files) if files else "none"


def check_exists(path: str | os.PathLike, runs_root: str | os.PathLike) -> Path:
    """``path`` itself, or an error that lists the checkpoints one could pass instead."""
    path = Path(path)
    if path.is_file():
        return path
    if path.parent.is_dir() and path.parent != Path("."):
        where = f"Checkpoints in {path.parent}: {_listing(path.parent)}."
    else:
        try:
            run = find_latest_run(runs_root)
            where = f"Checkpoints of the most recent run, {run}: {_available(run)}."
        except CheckpointNotFoundError:
            where = f"There is no trained run under {runs_root} either."
    raise CheckpointNotFoundError(
        f"No checkpoint file {path}. {where} Pass one of them, or --ckpt_path best|last."
    )


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint or a state_dict onto the CPU, or say plainly what is wrong.

    Loaded with ``weights_only=True``, as Lightning's CLI does, so a file never runs code
    when it is read; PyTorch's long explanation of that option would only mislead here.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointNotFoundError(f"{path}: no such file. Check the path, or train first.")
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError) as error:
        raise CorruptCheckpointError(
            f"{path} is corrupted or truncated, or not a checkpoint at all: it cannot be "
            "read. If a run was killed while saving it, use another checkpoint of the run; "
            "a whole pickled model is not accepted either (save model.state_dict())."
        ) from error
    if not isinstance(contents, dict):
        raise CorruptCheckpointError(
            f"{path} holds a {type(contents).__name__}, not a checkpoint or a state_dict."
        )
    return contents


def is_lightning_checkpoint(contents: Mapping[str, Any]) -> bool:
    """Whether ``contents`` is a Lightning checkpoint rather than a plain state_dict."""
    return isinstance(contents.get("state_dict"), Mapping)


def check_state_dict_fits(state_dict: Mapping[str, Tensor], model: nn.Module, source: str) -> None:
    """Raise ``ArchitectureMismatchError`` naming the first key that does not fit ``model``.

    ``source`` names where the weights come from, for the message. Keys are compared in
    the model's order, so the first layer at fault is the one reported.
    """
    expected = model.state_dict()
    for key, tensor in expected.items():
        if key not in state_dict:
            problem = f"the model has {key} {_shape(tensor)}, which {source} lacks"
        elif state_dict[key].shape != tensor.shape:
            problem = (
                f"{key} is {_shape(state_dict[key])} in {source} but {_shape(tensor)} in the model"
            )
        else:
            continue
        break
    else:
        unexpected = [key for key in state_dict if key not in expected]
        if not unexpected:
            return
        key = unexpected[0]
        problem = f"{source} has {key} {_shape(state_dict[key])}, which the model lacks"
    raise ArchitectureMismatchError(
        f"The weights do not fit the model: {problem}. They were saved from another "
        "network; configure the same model it was trained with (see config.yaml in its "
        "run folder), or use a checkpoint of this model."
    )


def _shape(tensor: Tensor) -> str:
    return f"of shape {tuple(tensor.shape)}"


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
        state = read_checkpoint(last)
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


@dataclass(frozen=True)
class LoadedNetwork:
    """A network ready for inference, and where its weights came from.

    Attributes:
        net: the tutorial's ``NeuralNetwork`` with the weights loaded, in eval mode, on
            the CPU.
        path: the file the weights were read from.
        run_dir: the run folder the checkpoint belongs to, if it is in one.
        val_acc: the validation accuracy recorded with the checkpoint, if any.
    """

    net: nn.Module
    path: Path
    run_dir: Path | None
    val_acc: float | None


def load_network(ckpt_path: str, runs_root: str | os.PathLike = RUNS_ROOT) -> LoadedNetwork:
    """The network of anything ``predict --ckpt_path`` accepts: ``best``, ``last``, a
    Lightning checkpoint, or a plain state_dict such as the tutorial's ``model.pth``.

    For commands that use the network alone (``export``, ``serve``); raises a
    :class:`CheckpointError` with the plain message when the file cannot be used.
    """
    from fashion_lit.network import NeuralNetwork
    from fashion_lit.weights import network_state_dict

    path = resolve_alias(ckpt_path, runs_root) if ckpt_path in ("best", "last") else None
    path = path or check_exists(ckpt_path, runs_root)
    contents = read_checkpoint(path)
    state_dict = network_state_dict(contents, path)
    net = NeuralNetwork()
    check_state_dict_fits(state_dict, net, str(path))
    net.load_state_dict(state_dict)
    net.eval()
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else None
    val_acc = None
    for state in contents.get("callbacks", {}).values():
        score = state.get("current_score") if isinstance(state, dict) else None
        if score is not None:
            val_acc = float(score)
    return LoadedNetwork(net, path, run_dir, val_acc)
