"""Pictures of each evaluation: the confusion matrix and the misclassified images.

A confusion matrix cannot go through ``self.log`` (Lightning-AI/pytorch-lightning#19835),
so this callback gathers it and, after every validation and test epoch, writes both
pictures (:mod:`fashion_lit.pictures`) as PNG files in the run folder, and gives them to
the loggers that show pictures: TensorBoard's IMAGES tab, MLflow's artifacts. A
``fast_dev_run`` keeps no picture.
"""

from typing import Any

import numpy as np
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import MLFlowLogger, TensorBoardLogger
from torchmetrics.classification import MulticlassConfusionMatrix

from fashion_lit.batches import PREDICTED, labelled
from fashion_lit.io.files import replaced_atomically
from fashion_lit.pictures import Misclassified, confusion_matrix_image, misclassified_image
from fashion_lit.runs import run_folder


class EvaluationImages(Callback):
    """Confusion matrix and misclassified examples of every validation and test epoch.

    Args:
        max_misclassified: how many misclassified images the grid shows.
        columns: images per row of the grid.
    """

    def __init__(self, max_misclassified: int = 32, columns: int = 8) -> None:
        self.max_misclassified = max_misclassified
        self.columns = columns
        self._confusion: MulticlassConfusionMatrix | None = None
        self._wrong: list[Misclassified] = []

    def _reset(self, pl_module: LightningModule) -> None:
        if self._confusion is None:
            num_classes = pl_module.hparams.get("num_classes", 10)
            self._confusion = MulticlassConfusionMatrix(num_classes, validate_args=False)
        self._confusion.reset()
        self._confusion.to(pl_module.device)
        self._wrong = []

    def _collect(self, outputs: Any, batch: Any) -> None:
        if not isinstance(outputs, dict) or PREDICTED not in outputs or self._confusion is None:
            return
        images, targets = labelled(batch)
        preds = outputs[PREDICTED]
        self._confusion.update(preds, targets)
        room = self.max_misclassified - len(self._wrong)
        if room > 0:  # only until the grid is full: this reads the batch on the host
            wrong = (preds != targets).nonzero().flatten()[:room].tolist()
            self._wrong += [(images[i].cpu(), int(preds[i]), int(targets[i])) for i in wrong]

    def _write(self, trainer: Trainer, stage: str) -> None:
        if self._confusion is None or trainer.sanity_checking or trainer.fast_dev_run:
            return
        matrix = self._confusion.compute()  # synchronised across processes
        folder = run_folder(trainer)  # a collective call under DDP: every rank asks
        if not trainer.is_global_zero:
            return
        classes = list(getattr(trainer.datamodule, "classes", range(matrix.shape[0])))
        accuracy = matrix.diag().sum().item() / max(matrix.sum().item(), 1)
        found = "misclassified images, predicted (true)"
        found = found if self._wrong else "no image misclassified"
        pictures = {
            "confusion_matrix": confusion_matrix_image(
                matrix.cpu(),
                classes,
                f"{stage} confusion matrix, epoch {trainer.current_epoch} "
                f"(accuracy {accuracy:.2%})",
            ),
            "misclassified": misclassified_image(
                self._wrong, classes, self.columns, f"{stage}: {found}"
            ),
        }
        step = trainer.global_step
        for name, picture in pictures.items():
            path = folder / f"{stage}_{name}.png"
            with replaced_atomically(path) as part:
                picture.save(part)
            for logger in trainer.loggers:
                if isinstance(logger, TensorBoardLogger):
                    tag, pixels = f"{stage}/{name}", np.asarray(picture)
                    logger.experiment.add_image(tag, pixels, step, dataformats="HWC")
                elif isinstance(logger, MLFlowLogger):
                    logger.experiment.log_artifact(logger.run_id, str(path), "pictures")

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._reset(pl_module)

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        self._collect(outputs, batch)

    # A test epoch is gathered as a validation one; only its name differs, when written.
    on_test_epoch_start = on_validation_epoch_start
    on_test_batch_end = on_validation_batch_end

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(trainer, "val")

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(trainer, "test")
