"""Reading checkpoints and state_dicts, with errors that say which file is wrong and how.

Two kinds of file hold the network's weights: Lightning checkpoints (``*.ckpt``, the
module's ``state_dict`` under ``"state_dict"``, the network's keys prefixed ``net.``) and
plain state_dicts such as the tutorial's ``model.pth``
(``torch.save(model.state_dict(), "model.pth")``). Both are read with
``weights_only=True``: a checkpoint never runs code when it is loaded.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

NET_PREFIX = "net."


class CheckpointError(ValueError):
    """A checkpoint or state_dict that cannot be read, or does not fit the network."""


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The contents of a checkpoint or state_dict file, loaded on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file. Check the path, or train first.")
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types here, none of them helpful
        raise CheckpointError(
            f"{path} is corrupted or truncated, or was not written by torch.save "
            "(a whole pickled model is not accepted: save model.state_dict()). "
            "Save it again, or pass another file."
        ) from error
    if not isinstance(contents, dict):
        raise CheckpointError(
            f"{path} holds a {type(contents).__name__}, not a checkpoint or a state_dict."
        )
    return contents


def is_lightning_checkpoint(contents: Mapping[str, Any]) -> bool:
    """Whether ``contents`` is a Lightning checkpoint rather than a plain state_dict."""
    return isinstance(contents.get("state_dict"), Mapping)


def network_state_dict(contents: Mapping[str, Any], source: str | os.PathLike) -> dict[str, Tensor]:
    """The network's own state_dict, from a Lightning checkpoint or a plain state_dict."""
    if is_lightning_checkpoint(contents):
        return {
            key[len(NET_PREFIX) :]: value
            for key, value in contents["state_dict"].items()
            if key.startswith(NET_PREFIX)
        }
    if contents and all(isinstance(value, Tensor) for value in contents.values()):
        return dict(contents)
    raise CheckpointError(
        f"{source} is neither a Lightning checkpoint nor a state_dict of tensors "
        f"(its keys: {', '.join(map(str, list(contents)[:5])) or 'none'})."
    )


def check_fits(expected: Mapping[str, Tensor], given: Mapping[str, Tensor], source: str) -> None:
    """Raise a :class:`CheckpointError` naming the first key where ``given`` differs.

    PyTorch's own error lists every mismatch of every layer; one key, with both shapes,
    is enough to see that the file belongs to another architecture.
    """
    for key, value in expected.items():
        if key not in given:
            raise CheckpointError(
                f"{source} does not fit the network: it has no {key} "
                f"(shape {list(value.shape)} in the network). It holds another architecture."
            )
        if given[key].shape != value.shape:
            raise CheckpointError(
                f"{source} does not fit the network: {key} has shape "
                f"{list(given[key].shape)} there but {list(value.shape)} in the network. "
                "It holds another architecture."
            )
    for key, value in given.items():
        if key not in expected:
            raise CheckpointError(
                f"{source} does not fit the network: it has {key} (shape "
                f"{list(value.shape)}), which the network lacks. It holds another architecture."
            )


def load_weights(net: nn.Module, path: str | os.PathLike) -> None:
    """Load the weights of a state_dict file (or a Lightning checkpoint) into ``net``."""
    state_dict = network_state_dict(read_checkpoint(path), path)
    check_fits(net.state_dict(), state_dict, str(path))
    net.load_state_dict(state_dict)
