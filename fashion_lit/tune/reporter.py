"""The link between a trial's ``fit`` process and its Optuna trial: a Lightning callback.

After each validation :class:`TrialReporter` reports ``val/acc`` (the epoch as the step)
and, when the pruner finds the trial hopeless, stops the run as usual (``last.ckpt``,
status 0); ``tune`` reads the verdict from the trial. Where Linux's parent-death signal
is missing (:mod:`.parent`), it also stops the run as SIGTERM does when the ``tune`` that
started it is gone, so a killed search leaves no training.

Not optuna-integration's ``PyTorchLightningPruningCallback``: it needs a live ``Trial``,
which a ``fit`` process started from a config cannot be handed; it ends a pruned trial
with a traceback and a failed status; and it reads private attributes of Lightning and
Optuna. This is the public ``Trial.report`` and ``should_prune``, configured by values.
"""

import os
import signal

import optuna
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from optuna.pruners import BasePruner
from optuna.trial import TrialState

from fashion_lit.metrics import MONITOR
from fashion_lit.tune.parent import tune_is_gone
from fashion_lit.tune.study import PRUNED_AT_EPOCH, open_storage, trial_id, with_password


class TrialReporter(Callback):
    """Reports ``val/acc`` to trial ``trial_number`` of the study ``study_name`` in the
    database ``storage``, and prunes the run as the study's ``pruner`` decides.

    ``storage`` is the URL without its password (it is written to the run's config.yaml);
    the password comes from ``$FASHION_LIT_STORAGE``, which ``tune`` sets for its trials.

    Only ``fit`` reports, and only while the trial is running: a run started again from
    its ``config.yaml`` after the search trains as any other, with a warning.
    """

    def __init__(
        self, storage: str, study_name: str, trial_number: int, pruner: BasePruner
    ) -> None:
        self.storage = storage
        self.study_name = study_name
        self.trial_number = trial_number
        self.pruner = pruner
        self._trial: optuna.trial.Trial | None = None
        self._reporting = False
        self._stopping = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        if trainer.is_global_zero:
            self._trial = self._running_trial()
        # Every process of a DDP run takes part in the verdict, so every one must know.
        self._reporting = trainer.strategy.broadcast(self._trial is not None)

    def _running_trial(self) -> optuna.trial.Trial | None:
        storage = open_storage(with_password(self.storage))
        study = optuna.load_study(study_name=self.study_name, storage=storage, pruner=self.pruner)
        id_ = trial_id(storage, self.study_name, self.trial_number)
        state = storage.get_trial(id_).state
        if state != TrialState.RUNNING:
            rank_zero_warn(
                f"Trial {self.trial_number} of study {self.study_name!r} is {state.name}, not "
                "running: this fit reports nothing to it."
            )
            return None
        # Built here, in the process that trains, from the study and the trial's id:
        # Optuna's public constructor (study.optimize builds it the same way).
        return optuna.trial.Trial(study, id_)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self._reporting or trainer.sanity_checking:
            return
        epoch = trainer.current_epoch
        prune = False
        if self._trial is not None:
            value = trainer.callback_metrics.get(MONITOR)
            if value is None:
                raise RuntimeError(
                    f"{MONITOR} was not logged in validation, so the trial has no value: "
                    "tune needs a validation set (data.val_size > 0)."
                )
            self._trial.report(float(value), step=epoch)
            prune = self._trial.should_prune()
            if prune:
                self._trial.set_user_attr(PRUNED_AT_EPOCH, epoch)
        if trainer.strategy.broadcast(prune):
            rank_zero_info(f"Trial {self.trial_number} pruned after epoch {epoch}.")
            trainer.should_stop = True

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args) -> None:
        if self._reporting and not self._stopping and tune_is_gone():
            rank_zero_info("The tune process is gone: stopping this trial after the batch.")
            self._stopping = True
            # Lightning's own clean stop: last.ckpt saved, then exit status 143.
            os.kill(os.getpid(), signal.SIGTERM)
