"""What can be wrong with a checkpoint, one class per cause, so that callers can say it plainly.

Every error's message names the file and says what to do; the CLI, ``export`` and
``serve`` print it as it is, with exit status 2, never a traceback.
"""


class CheckpointError(Exception):
    """A checkpoint or state_dict that cannot be found, read, trusted or used with this model."""


class CheckpointNotFoundError(CheckpointError):
    """There is no checkpoint to load for the requested alias, path or URL."""


class CorruptCheckpointError(CheckpointError):
    """The file is damaged, truncated, or not a checkpoint or state_dict at all."""


class UnsafeCheckpointError(CheckpointError):
    """The file holds code (a pickle that would call functions when loaded), not data."""


class ArchitectureMismatchError(CheckpointError):
    """The weights were saved from a network of another shape."""


class ForbiddenHyperparameterError(CheckpointError):
    """A hyperparameter stored in the checkpoint names a class or a file fashion_lit will not
    take from a checkpoint."""
