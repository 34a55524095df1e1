"""Writing predictions to a file, and printing them the way the tutorial does.

The tutorial ends with ``Predicted: "Ankle boot", Actual: "Ankle boot"``; the
:class:`PredictionWriter` prints that line for each prediction of a small request and
writes every prediction to a CSV file, atomically, so an interrupted ``predict`` leaves
no half-written file behind.
"""

import csv
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

CSV_COLUMNS = ("index", "predicted", "predicted_name", "probability", "actual", "actual_name")


def tutorial_line(predicted: str, actual: str | None) -> str:
    """The tutorial's closing line for one image."""
    return f'Predicted: "{predicted}", Actual: "{actual}"'


def prediction_rows(batches: Sequence[dict[str, torch.Tensor]], classes: Sequence[str]) -> list[dict]:
    """One row per image from the outputs of ``predict_step``, in input order."""
    rows = []
    for batch in batches:
        probabilities = batch["probabilities"]
        for i, predicted in enumerate(batch["class_index"].tolist()):
            actual = int(batch["target"][i]) if "target" in batch else None
            rows.append(
                {
                    "index": int(batch["index"][i]) if "index" in batch else len(rows),
                    "predicted": predicted,
                    "predicted_name": classes[predicted],
                    "probability": round(float(probabilities[i, predicted]), 6),
                    "actual": actual,
                    "actual_name": classes[actual] if actual is not None else None,
                }
            )
    rows.sort(key=lambda row: row["index"])
    return rows


def write_csv_atomically(rows: Sequence[dict], path: Path) -> None:
    """Write ``rows`` to ``path`` through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PredictionWriter(BasePredictionWriter):
    """Writes ``predict``'s results to CSV and prints the tutorial's line for a few.

    Args:
        output: the CSV file; by default ``predictions.csv`` in the run folder.
        print_limit: print the tutorial's line for each image when there are at most
            this many predictions.
    """

    def __init__(self, output: str | None = None, print_limit: int = 20) -> None:
        super().__init__(write_interval="epoch")
        self.output = output
        self.print_limit = print_limit

    def write_on_epoch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        classes = getattr(trainer.datamodule, "classes", None) or [
            str(i) for i in range(pl_module.hparams.get("num_classes", 10))
        ]
        rows = prediction_rows(predictions, classes)
        path = Path(self.output) if self.output else Path(trainer.log_dir or ".") / "predictions.csv"
        write_csv_atomically(rows, path)
        if len(rows) <= self.print_limit:
            for row in rows:
                print(tutorial_line(row["predicted_name"], row["actual_name"]))
        print(f"Wrote {len(rows)} predictions to {path}")
