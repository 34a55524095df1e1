"""The network's weights out of a checkpoint or a state_dict file, into a network.

Two kinds of file hold the network's weights: Lightning checkpoints (``*.ckpt``, the
module's ``state_dict`` under ``"state_dict"``, the network's keys prefixed ``net.``) and
plain state_dicts such as the tutorial's ``model.pth``
(``torch.save(model.state_dict(), "model.pth")``). Both are read with
``weights_only=True``: a checkpoint never runs code when it is loaded.
"""

import os
from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from fashion_lit.checkpoints import (
    CorruptCheckpointError,
    check_state_dict_fits,
    is_lightning_checkpoint,
    read_checkpoint,
)

NET_PREFIX = "net."


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
    raise CorruptCheckpointError(
        f"{source} is neither a Lightning checkpoint nor a state_dict of tensors "
        f"(its keys: {', '.join(map(str, list(contents)[:5])) or 'none'})."
    )


def load_weights(net: nn.Module, path: str | os.PathLike) -> None:
    """Load the weights of a state_dict file (or a Lightning checkpoint) into ``net``."""
    state_dict = network_state_dict(read_checkpoint(path), path)
    check_state_dict_fits(state_dict, net, str(path))
    net.load_state_dict(state_dict)
