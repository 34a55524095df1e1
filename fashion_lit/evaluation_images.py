"""Pictures of each evaluation: the confusion matrix and the misclassified images.

A confusion matrix cannot go through ``self.log`` (Lightning-AI/pytorch-lightning#19835),
so this callback gathers it beside the module's metrics and writes, at the end of every
validation and test epoch, two images to TensorBoard's IMAGES tab and as PNG files in
the run folder: the confusion matrix with the class names on its axes, and a grid of
misclassified images captioned with their predicted and true classes.
"""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # render to files; no display needed

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from lightning.pytorch import Callback, LightningModule, Trainer  # noqa: E402
from lightning.pytorch.loggers import TensorBoardLogger  # noqa: E402
from torchmetrics.classification import MulticlassConfusionMatrix  # noqa: E402


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
        self._wrong: list[tuple[torch.Tensor, int, int]] = []

    def _reset(self, pl_module: LightningModule) -> None:
        num_classes = pl_module.hparams.get("num_classes", 10)
        self._confusion = MulticlassConfusionMatrix(num_classes, validate_args=False).to(
            pl_module.device
        )
        self._wrong = []

    def _collect(self, outputs: Any, batch: Any) -> None:
        if not isinstance(outputs, dict) or "preds" not in outputs or self._confusion is None:
            return
        images, targets = batch[0], batch[1]
        preds = outputs["preds"]
        self._confusion.update(preds, targets)
        room = self.max_misclassified - len(self._wrong)
        if room > 0:
            wrong = (preds != targets).nonzero().flatten()[:room].tolist()
            self._wrong += [(images[i].cpu(), int(preds[i]), int(targets[i])) for i in wrong]

    def _write(self, trainer: Trainer, stage: str) -> None:
        if self._confusion is None or trainer.sanity_checking:
            return
        matrix = self._confusion.compute()  # synchronised across processes
        # trainer.log_dir is a collective call under DDP: every rank must ask for it.
        folder = Path(trainer.log_dir or ".")
        if not trainer.is_global_zero:
            return
        classes = list(getattr(trainer.datamodule, "classes", range(matrix.shape[0])))
        figures = {
            "confusion_matrix": confusion_figure(
                matrix.cpu(), classes, stage, trainer.current_epoch
            ),
            "misclassified": misclassified_figure(self._wrong, classes, self.columns, stage),
        }
        folder.mkdir(parents=True, exist_ok=True)
        for name, figure in figures.items():
            figure.savefig(folder / f"{stage}_{name}.png", dpi=100)
            for logger in trainer.loggers:
                if isinstance(logger, TensorBoardLogger):
                    logger.experiment.add_figure(f"{stage}/{name}", figure, trainer.global_step)
            plt.close(figure)

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._reset(pl_module)

    def on_test_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._reset(pl_module)

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        self._collect(outputs, batch)

    def on_test_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        self._collect(outputs, batch)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(trainer, "val")

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(trainer, "test")


def confusion_figure(
    matrix: torch.Tensor, classes: list[str], stage: str, epoch: int
) -> plt.Figure:
    """A confusion matrix (rows: true class, columns: predicted) with counts and names."""
    figure, axes = plt.subplots(figsize=(8, 7))
    axes.imshow(matrix.numpy(), cmap="Blues")
    ticks = range(len(classes))
    axes.set_xticks(ticks, classes, rotation=45, ha="right")
    axes.set_yticks(ticks, classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    threshold = matrix.max().item() / 2
    for row, counts in enumerate(matrix.tolist()):
        for col, count in enumerate(counts):
            axes.text(
                col,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if count > threshold else "black",
            )
    accuracy = matrix.diag().sum().item() / max(matrix.sum().item(), 1)
    axes.set_title(f"{stage} confusion matrix, epoch {epoch} (accuracy {accuracy:.2%})")
    figure.tight_layout()
    return figure


def misclassified_figure(
    wrong: list[tuple[torch.Tensor, int, int]], classes: list[str], columns: int, stage: str
) -> plt.Figure:
    """A grid of misclassified images, each captioned "predicted / true"."""
    rows = max(1, -(-len(wrong) // columns))
    figure, grid = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    for axes in grid.flat:
        axes.axis("off")
    # The grid may have more cells than there are images: the rest stay blank.
    for axes, (image, predicted, actual) in zip(grid.flat, wrong, strict=False):
        axes.imshow(image.squeeze(0).float().numpy(), cmap="gray", vmin=0, vmax=1)
        axes.set_title(f"{classes[predicted]}\n(true: {classes[actual]})", fontsize=7)
    title = "misclassified images, predicted (true)" if wrong else "no image misclassified"
    figure.suptitle(f"{stage}: {title}")
    figure.tight_layout()
    return figure
