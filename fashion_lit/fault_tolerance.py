"""Training that survives faults: atomic checkpoint files, and a clean stop on Ctrl-C or SIGTERM.

- ``AtomicCheckpointIO`` writes each checkpoint to a hidden temporary file in the same
  folder and renames it into place, so a process killed mid-write never leaves a
  truncated file under a ``.ckpt`` name that ``--ckpt_path best|last`` would trust.
- ``RunCheckpoint`` is Lightning's ModelCheckpoint that also saves ``last.ckpt`` when
  training is stopped by a signal, so ``fit --ckpt_path last`` continues from the batch
  where it stopped. The best checkpoint is left as it was.
- ``clean_stop_on_signals`` makes Ctrl-C do what SIGTERM does in Lightning (finish the
  current batch, save, exit; a second Ctrl-C interrupts at once) and exits with the
  shell's status for the signal (130, 143) rather than 0.
"""

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightning.pytorch as pl
import torch
from fsspec.implementations.local import LocalFileSystem
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException
from lightning.pytorch.utilities.rank_zero import rank_zero_info
from lightning_utilities.core.rank_zero import rank_zero_only

from fashion_lit.files import replaced_atomically


class AtomicCheckpointIO(TorchCheckpointIO):
    """Saves local checkpoints atomically: temporary file in the same folder, fsync, rename.

    Lightning's own local save writes into the system's temporary folder and then moves
    the file; when that folder is on another file system (a tmpfs ``/tmp``, a network
    mount for the runs), the move is a copy into the final name, which a kill can cut
    short. A rename within one folder is atomic. Remote paths keep Lightning's behaviour.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or not isinstance(get_filesystem(path), LocalFileSystem):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        atomic_torch_save(checkpoint, path)


def atomic_torch_save(obj: Any, path: _PATH) -> None:
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
    """ModelCheckpoint that saves ``last.ckpt`` after every epoch and when training stops
    on a signal.

    Since Lightning 2.6, ``save_last: true`` writes ``last.ckpt`` only at a step where a
    top-k checkpoint is also saved, so with the best-by-``val/acc`` checkpoint it stays at
    the best epoch, and ``--ckpt_path last`` (a resume, a test of the final weights) would
    silently take an older epoch. Here it is saved after every epoch, as before.

    ``ModelCheckpoint(save_on_exception=True)`` would also save on any error (a bug, a NaN
    check), and under the top-k file name with the previous epoch's score, which reads
    like a validated checkpoint. Here only a stop by signal saves, and only ``last.ckpt``:
    Lightning raises its ``SIGTERMException`` between two batches, so the saved state is
    consistent, and resuming from it continues with the next batch.
    """

    def on_validation_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        super().on_validation_end(trainer, pl_module)
        if (
            self.save_last
            and not self._should_skip_saving_checkpoint(trainer)
            and not self._should_save_on_train_epoch_end(trainer)
        ):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if (
            self.save_last
            and not self._should_skip_saving_checkpoint(trainer)
            and self._should_save_on_train_epoch_end(trainer)
        ):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_exception(
        self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", exception: BaseException
    ) -> None:
        if (
            isinstance(exception, SIGTERMException)
            and self.save_last
            and not trainer.sanity_checking
            and not trainer.fast_dev_run
            and self._last_global_step_saved != trainer.global_step
        ):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
            rank_zero_info(f"Training stopped by a signal; saved {self.last_model_path}.")


@contextmanager
def clean_stop_on_signals() -> Iterator[None]:
    """Stop ``fit`` between two batches on Ctrl-C as on SIGTERM, and exit with 128 + signal.

    A KeyboardInterrupt can land anywhere, e.g. half-way through an optimizer step, so a
    checkpoint saved then would mix two steps. Lightning handles SIGTERM by finishing the
    current batch first, so the first Ctrl-C is turned into a SIGTERM. Outside training
    (no handler of Lightning's installed), and on a second Ctrl-C, the usual
    KeyboardInterrupt applies. Lightning ends a stop by SIGTERM with ``SystemExit(None)``,
    status 0, which a shell or scheduler would read as success.
    """
    previous = signal.getsignal(signal.SIGINT)
    received = signal.SIGTERM

    def stop_after_the_batch(signum: int, frame: Any) -> None:
        nonlocal received
        signal.signal(signal.SIGINT, previous)
        if not callable(signal.getsignal(signal.SIGTERM)):
            raise KeyboardInterrupt
        received = signal.SIGINT
        _say(
            "\nInterrupted: stopping after the current batch and saving last.ckpt "
            "(press Ctrl-C again to stop at once)."
        )
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGINT, stop_after_the_batch)
    try:
        yield
    except SIGTERMException as stop:
        raise SystemExit(128 + received) from stop
    finally:
        signal.signal(signal.SIGINT, previous)


@rank_zero_only
def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
