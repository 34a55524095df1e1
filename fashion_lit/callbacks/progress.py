"""The progress bar: Lightning's TQDM bar, redrawn every few steps, with the step loss.

Lightning turns every ``prog_bar=True`` value into a Python number after every batch: on
a GPU, a host synchronisation per step. So the step loss is logged without ``prog_bar``
and this bar reads it itself, only when it redraws.
"""

from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import TQDMProgressBar

from fashion_lit.metrics import TRAIN_LOSS_STEP

#: Redraw every this many steps: Lightning's default bar redraws after every step, which
#: costs more than a third of this small network's training time on a CPU.
REFRESH_RATE = 20


class StepLossProgressBar(TQDMProgressBar):
    """``TQDMProgressBar`` that shows the latest ``train/loss_step`` when it redraws."""

    def __init__(self, refresh_rate: int = REFRESH_RATE, **kwargs: Any) -> None:
        super().__init__(refresh_rate=refresh_rate, **kwargs)

    def get_metrics(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, Any]:
        metrics = super().get_metrics(trainer, pl_module)
        loss = trainer.callback_metrics.get(TRAIN_LOSS_STEP)
        if loss is not None and trainer.training:
            metrics[TRAIN_LOSS_STEP] = f"{float(loss):.3f}"
        return metrics
