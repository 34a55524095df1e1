"""Saving the checkpoints of a run: atomically, ``last.ckpt`` after every epoch and on a
stop by signal, and a record of which checkpoint is the best.

Only public Lightning APIs are used (the ``CheckpointIO`` plugin interface, the
``ModelCheckpoint`` callback and its public attributes, ``Trainer.save_checkpoint``), so
nothing here depends on Lightning's internals:

- :class:`AtomicCheckpointIO` writes each checkpoint to a hidden temporary file in the same
  folder and renames it into place, and reads every checkpoint with ``weights_only=True``.
- :class:`RunCheckpoint` is ModelCheckpoint keeping the best checkpoints by ``val/acc``;
  after each save it records the best one in ``checkpoints/best.json``, so that
  ``--ckpt_path best`` in a later process needs no checkpoint read to find it.
- :class:`LastCheckpoint` keeps ``last.ckpt``: a second ModelCheckpoint without a metric,
  saving after every epoch, and saving on the way out when Ctrl-C or SIGTERM stops
  training.
"""

import json
import os
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException
from lightning.pytorch.utilities.rank_zero import rank_zero_info

from fashion_lit.checkpoints.locate import BEST_RECORD, LAST
from fashion_lit.files import replaced_atomically


class AtomicCheckpointIO(TorchCheckpointIO):
    """Saves local checkpoints atomically (temporary file in the same folder, fsync, rename)
    and loads every checkpoint as data only.

    Lightning's own local save writes into the system's temporary folder and then moves
    the file; when that folder is on another file system (a tmpfs ``/tmp``, a network
    mount for the runs), the move is a copy into the final name, which a kill can cut
    short. A rename within one folder is atomic. Remote paths keep Lightning's behaviour.

    Loading always passes ``weights_only=True``, whatever the caller asks, so that the
    Trainer's own restore of a checkpoint cannot run code either.
    """

    def save_checkpoint(
        self,
        checkpoint: dict[str, Any],
        path: str | os.PathLike,
        storage_options: Any | None = None,
    ) -> None:
        if storage_options is not None or not is_local(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(
        self, path: str | os.PathLike, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return super().load_checkpoint(path, map_location=map_location, weights_only=True)


def is_local(path: str | os.PathLike) -> bool:
    """Whether ``path`` is on this machine's file system (not ``s3://``, ``gs://``, ...)."""
    protocol = get_filesystem(path).protocol
    return "file" in (protocol if isinstance(protocol, (tuple, list)) else (protocol,))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj, path)`` such that ``path`` holds either its old content or the new one.

    The temporary file is hidden and ends in ``.part``, so no ``*.ckpt`` pattern matches
    one left behind by a killed process; it reaches the disk before it is renamed.
    """
    with (
        replaced_atomically(path, keep_suffix=False, durable=True) as temporary,
        open(temporary, "wb") as file,
    ):
        torch.save(obj, file)


class RunCheckpoint(ModelCheckpoint):
    """ModelCheckpoint for the best checkpoints of a run, recording the best in ``best.json``.

    Takes ModelCheckpoint's arguments. ``save_last`` means "keep ``last.ckpt`` after every
    epoch" here, which the CLI does with a :class:`LastCheckpoint` beside this callback:
    since Lightning 2.6, ModelCheckpoint's own ``save_last`` writes ``last.ckpt`` only at
    a step where a top-k checkpoint is also saved, so it would stay at the best epoch and
    ``--ckpt_path last`` (a resume, a test of the final weights) would silently take an
    older epoch.
    """

    def __init__(self, *args: Any, save_last: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, save_last=False, **kwargs)
        self.keeps_last = save_last
        self._recorded_best: str | None = None

    def on_train_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        super().on_train_epoch_end(trainer, pl_module)
        self._record_best(trainer)

    def on_validation_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        super().on_validation_end(trainer, pl_module)
        self._record_best(trainer)

    def _record_best(self, trainer: "pl.Trainer") -> None:
        best = self.best_model_path
        if not best or best == self._recorded_best or not trainer.is_global_zero:
            return
        score = self.best_model_score
        record = {
            "best_model_path": Path(best).name,
            "best_model_score": None if score is None else float(score),
            "monitor": self.monitor,
            "mode": self.mode,
        }
        with replaced_atomically(Path(best).parent / BEST_RECORD) as temporary:
            temporary.write_text(json.dumps(record, indent=1) + "\n")
        self._recorded_best = best


class LastCheckpoint(ModelCheckpoint):
    """``checkpoints/last.ckpt`` after every epoch, and when Ctrl-C or SIGTERM stops training.

    A ModelCheckpoint without a metric that keeps one file named ``last``, replaced each
    time. On a stop by signal, Lightning raises its ``SIGTERMException`` between two
    batches, so the state saved then is consistent and a resume continues with the next
    batch; any other error (a bug, a NaN check) saves nothing, so that ``last.ckpt`` never
    holds a state nobody validated the way to. The best checkpoint is left as it was.
    """

    def __init__(self) -> None:
        super().__init__(monitor=None, filename=Path(LAST).stem, enable_version_counter=False)

    def on_exception(
        self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", exception: BaseException
    ) -> None:
        if (
            isinstance(exception, SIGTERMException)
            and self.dirpath is not None
            and not trainer.sanity_checking
            and not trainer.fast_dev_run
        ):
            path = os.path.join(self.dirpath, LAST)
            trainer.save_checkpoint(path)
            rank_zero_info(f"Training stopped by a signal; saved {path}.")
