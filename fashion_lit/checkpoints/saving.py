"""Writing checkpoint files atomically, and reading them as data only, in the Trainer too.

:class:`AtomicCheckpointIO` is a Lightning ``CheckpointIO`` plugin (a public interface):
each checkpoint goes to a hidden temporary file in the same folder and is renamed into
place with its digest (:mod:`fashion_lit.checkpoints.digest`), and every checkpoint is
read with ``weights_only=True`` and its digest checked. Which checkpoints a run keeps is
the business of its callbacks (:mod:`fashion_lit.callbacks.checkpoints`).
"""

import os
from typing import Any

import torch
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO

from fashion_lit.checkpoints.digest import DigestMismatchError, verified, with_digest
from fashion_lit.checkpoints.errors import CorruptCheckpointError
from fashion_lit.checkpoints.reading import corrupted
from fashion_lit.io.files import replaced_atomically, write_from_memory


class AtomicCheckpointIO(TorchCheckpointIO):
    """Saves local checkpoints atomically and loads every checkpoint as data only; every
    checkpoint carries its digest, checked on every load.

    Lightning's local save moves a file from the system's temporary folder, which on
    another file system (a tmpfs ``/tmp``) is a copy a kill can cut short; a rename in one
    folder is atomic. Remote paths keep Lightning's behaviour. ``weights_only=True``
    whatever the caller asks, so that the Trainer's own restore cannot run code either.
    The Trainer's restore reads the file again, after fashion_lit's own reading
    (:func:`~fashion_lit.checkpoints.reading.read`): its digest is checked again, on what
    the Trainer gets.
    """

    def save_checkpoint(
        self,
        checkpoint: dict[str, Any],
        path: str | os.PathLike,
        storage_options: Any | None = None,
    ) -> None:
        checkpoint = with_digest(checkpoint)
        if storage_options is not None or not is_local(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(
        self, path: str | os.PathLike, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        contents = super().load_checkpoint(path, map_location=map_location, weights_only=True)
        try:
            return verified(contents)
        except DigestMismatchError as error:
            raise CorruptCheckpointError(corrupted(path, str(error))) from error


def is_local(path: str | os.PathLike) -> bool:
    """Whether ``path`` is on this machine's file system (not ``s3://``, ``gs://``, ...)."""
    protocol = get_filesystem(path).protocol
    return "file" in (protocol if isinstance(protocol, (tuple, list)) else (protocol,))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj, path)`` such that ``path`` holds either its old content or the new
    one; the temporary file ends in ``.part``, so no ``*.ckpt`` pattern matches it. A full
    disk is a :class:`~fashion_lit.io.files.NoSpaceError` naming ``path`` (see
    :func:`~fashion_lit.io.files.write_from_memory`)."""
    with replaced_atomically(path, keep_suffix=False, durable=True) as temporary:
        write_from_memory(temporary, lambda file: torch.save(obj, file))
