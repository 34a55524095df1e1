"""The one home of checkpoint files: find, download, read, check, and write them.

- :mod:`~fashion_lit.checkpoints.locate` turns ``best``, ``last``, a path or a URL into one
  local file (``best``/``last`` asked of :mod:`fashion_lit.runs`, URLs downloaded first);
- :mod:`~fashion_lit.checkpoints.reading` reads it once, as data only, checks its zip CRCs,
  tells a Lightning checkpoint from a plain state_dict, and checks it against the model;
- :mod:`~fashion_lit.checkpoints.hyperparameters` decides which stored hyperparameters the
  CLI may take from it;
- :mod:`~fashion_lit.checkpoints.request` resolves the CLI's ``--ckpt_path`` once, into
  what every later step of the command uses;
- :mod:`~fashion_lit.checkpoints.saving` writes checkpoint files atomically.

Which checkpoints a run keeps is decided by its callbacks
(:mod:`fashion_lit.callbacks.checkpoints`). Every failure is a :class:`CheckpointError`
whose message names the file and the fix.
"""

from fashion_lit.checkpoints.errors import (
    ArchitectureMismatchError,
    CheckpointError,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    ForbiddenHyperparameterError,
    UnsafeCheckpointError,
)
from fashion_lit.checkpoints.hyperparameters import hyperparameters_to_take
from fashion_lit.checkpoints.locate import is_url, resolve
from fashion_lit.checkpoints.reading import (
    Checkpoint,
    LoadedNetwork,
    check_state_dict_fits,
    load,
    load_network,
    read,
)
from fashion_lit.checkpoints.saving import AtomicCheckpointIO, atomic_torch_save

__all__ = [
    "ArchitectureMismatchError",
    "AtomicCheckpointIO",
    "Checkpoint",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CorruptCheckpointError",
    "ForbiddenHyperparameterError",
    "LoadedNetwork",
    "UnsafeCheckpointError",
    "atomic_torch_save",
    "check_state_dict_fits",
    "hyperparameters_to_take",
    "is_url",
    "load",
    "load_network",
    "read",
    "resolve",
]
