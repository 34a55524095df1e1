"""Callbacks that interrupt a run at a chosen batch, as a signal or a crash would.

Runs load them by their dotted path (``--trainer.callbacks``), trials of ``tune`` in
processes of their own included, so they live in a module any process can import.
"""

import os
import signal
import time

from lightning.pytorch import Callback, LightningModule, Trainer


class SignalAtBatch(Callback):
    """Sends ``signum`` to this very process after batch ``batch`` of epoch ``epoch``."""

    def __init__(self, signum: int, epoch: int, batch: int) -> None:
        self.signum, self.epoch, self.batch = signum, epoch, batch

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch):
            os.kill(os.getpid(), self.signum)


class WaitForSignalAtBatch(Callback):
    """Announces batch ``batch`` of epoch ``epoch`` on stdout and waits there for SIGTERM.

    Makes "mid-epoch" certain for a signal sent from another process, whatever the speed
    of the machine; the signal itself is handled by the code under test.
    """

    def __init__(self, epoch: int, batch: int, timeout: float = 60.0) -> None:
        self.epoch, self.batch, self.timeout = epoch, batch, timeout

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        if (trainer.current_epoch, batch_idx) != (self.epoch, self.batch):
            return
        print("WAITING FOR SIGTERM", flush=True)
        deadline = time.monotonic() + self.timeout
        while not trainer.received_sigterm and time.monotonic() < deadline:
            time.sleep(0.01)


class KillTuneAtBatch(Callback):
    """In trial ``trial``, sends SIGKILL to the ``tune`` process after batch ``batch``.

    It then waits until that process is gone, so the trial notices it at this very batch.
    """

    def __init__(self, trial: int, batch: int) -> None:
        self.trial, self.batch = trial, batch

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        if trainer.logger.version != f"trial_{self.trial}" or batch_idx != self.batch:
            return
        tune = os.getppid()
        os.kill(tune, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while os.getppid() == tune and time.monotonic() < deadline:
            time.sleep(0.01)


class FailAtBatch(Callback):
    """Raises a RuntimeError after batch ``batch`` of the first epoch: a crash in training."""

    def __init__(self, batch: int = 0) -> None:
        self.batch = batch

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        if batch_idx == self.batch:
            raise RuntimeError("a crash in training")
