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
whose message names the file and the fix. Reading needs torch alone: what needs
Lightning or the model (writing, hyperparameters) is imported when first used (PEP 562),
so that ``serve`` does not import Lightning.
"""

from importlib import import_module

from fashion_lit.checkpoints.errors import (
    ArchitectureMismatchError,
    CheckpointError,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    ForbiddenHyperparameterError,
    UnsafeCheckpointError,
)
from fashion_lit.checkpoints.locate import is_url, resolve
from fashion_lit.checkpoints.reading import (
    Checkpoint,
    LoadedNetwork,
    check_state_dict_fits,
    load,
    load_network,
    read,
)

#: Names imported when first used, and their modules.
_LAZY = {
    "AtomicCheckpointIO": "fashion_lit.checkpoints.saving",
    "atomic_torch_save": "fashion_lit.checkpoints.saving",
    "hyperparameters_to_take": "fashion_lit.checkpoints.hyperparameters",
}

__all__ = [
    "ArchitectureMismatchError",
    "Checkpoint",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CorruptCheckpointError",
    "ForbiddenHyperparameterError",
    "LoadedNetwork",
    "UnsafeCheckpointError",
    "check_state_dict_fits",
    "is_url",
    "load",
    "load_network",
    "read",
    "resolve",
    *_LAZY,
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'fashion_lit.checkpoints' has no attribute {name!r}")
    return getattr(import_module(_LAZY[name]), name)
