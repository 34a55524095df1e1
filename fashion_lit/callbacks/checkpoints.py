"""The checkpoints a run keeps: the best ones by ``val/acc``, and ``last.ckpt``.

Public Lightning APIs only (``ModelCheckpoint``, ``Trainer.save_checkpoint``). The best
one is recorded in ``checkpoints/best.json``, so that ``--ckpt_path best`` in a later
process reads no checkpoint to find it.
"""

import os
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException
from lightning.pytorch.utilities.rank_zero import rank_zero_info

from fashion_lit.io.files import replaced_atomically
from fashion_lit.runs import BEST_RECORD, LAST, best_record


class RunFolderCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` that knows its folder however the path to it is written.

    Lightning compares the folder recorded in a checkpoint with its own as strings, and
    warns that it restores less when they differ: ``./lightning_logs/version_0/…`` (as
    ``fit`` wrote it) and ``lightning_logs/version_0/…`` (as a later command names the
    same run) are the same folder.
    """

    _training_state_key: str | None = None

    @property
    def state_key(self) -> str:
        """ModelCheckpoint's own key, formatted once while training runs.

        Lightning formats each callback's key for every hook it calls, three times a
        training step, and ModelCheckpoint's is the repr of a dict of five settings, which
        do not change while training runs.
        """
        return self._training_state_key or super().state_key

    def on_train_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        super().on_train_start(trainer, pl_module)
        self._training_state_key = super().state_key

    def on_train_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        super().on_train_end(trainer, pl_module)
        self._training_state_key = None

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        recorded = state_dict.get("dirpath")
        if recorded is not None and self.dirpath is not None and recorded != self.dirpath:
            if os.path.realpath(recorded) == os.path.realpath(self.dirpath):
                state_dict = {**state_dict, "dirpath": self.dirpath}
        super().load_state_dict(state_dict)


class RunCheckpoint(RunFolderCheckpoint):
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
        score = None if self.best_model_score is None else float(self.best_model_score)
        with replaced_atomically(Path(best).parent / BEST_RECORD) as temporary:
            temporary.write_text(best_record(Path(best), score, self.monitor, self.mode))
        self._recorded_best = best


class LastCheckpoint(RunFolderCheckpoint):
    """``checkpoints/last.ckpt`` after every epoch, and when Ctrl-C or SIGTERM stops training.

    Lightning raises ``SIGTERMException`` between two batches, so the state saved then is
    consistent and a resume continues with the next batch; any other error (a bug, a NaN
    check) saves nothing, so ``last.ckpt`` never holds a state nobody validated the way to.
    """

    def __init__(self, dirpath: str | None = None) -> None:
        super().__init__(
            dirpath, filename=Path(LAST).stem, monitor=None, enable_version_counter=False
        )

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
            # A whole checkpoint, as every epoch's last.ckpt, so that fit resumes from it.
            trainer.save_checkpoint(path, weights_only=False)
            rank_zero_info(f"Training stopped by a signal; saved {path}.")
