"""The one home of checkpoints: find, download, read, check, and save them.

Everything in fashion_lit that touches a checkpoint file goes through this package:

- :mod:`~fashion_lit.checkpoints.locate` turns ``best``, ``last``, a path or a URL into one
  local file (``best``/``last`` of the most recent run on disk, URLs downloaded first);
- :mod:`~fashion_lit.checkpoints.reading` reads it once, as data only, checks its zip CRCs,
  tells a Lightning checkpoint from a plain state_dict, and checks it against the model;
- :mod:`~fashion_lit.checkpoints.hyperparameters` decides which stored hyperparameters the
  CLI may take from it;
- :mod:`~fashion_lit.checkpoints.saving` writes a run's checkpoints atomically, ``last.ckpt``
  after every epoch and on a stop by signal, and records the best one.

Every failure is a :class:`CheckpointError` whose message names the file and the fix.
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
from fashion_lit.checkpoints.locate import (
    ALIASES,
    LAST,
    RUNS_ROOT,
    find_latest_run,
    is_url,
    named_run,
    resolve,
    resolve_best,
    resolve_last,
    runs_root,
)
from fashion_lit.checkpoints.reading import (
    Checkpoint,
    LoadedNetwork,
    check_state_dict_fits,
    load,
    load_network,
    load_weights,
    read,
)
from fashion_lit.checkpoints.saving import (
    AtomicCheckpointIO,
    LastCheckpoint,
    RunCheckpoint,
    atomic_torch_save,
)

__all__ = [
    "ALIASES",
    "LAST",
    "RUNS_ROOT",
    "ArchitectureMismatchError",
    "AtomicCheckpointIO",
    "Checkpoint",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CorruptCheckpointError",
    "ForbiddenHyperparameterError",
    "LastCheckpoint",
    "LoadedNetwork",
    "RunCheckpoint",
    "UnsafeCheckpointError",
    "atomic_torch_save",
    "check_state_dict_fits",
    "find_latest_run",
    "hyperparameters_to_take",
    "is_url",
    "named_run",
    "load",
    "load_network",
    "load_weights",
    "read",
    "resolve",
    "resolve_best",
    "resolve_last",
    "runs_root",
]
