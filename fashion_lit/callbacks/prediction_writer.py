"""Writing predictions to a file, and printing them the way the tutorial does.

The tutorial ends with ``Predicted: "Ankle boot", Actual: "Ankle boot"``; this prints
that line for a small request and writes one row per input, in input order:

==================  ==========================================================
``index``/``path``  the test image's index, or the image file's path
``predicted``       the predicted class index, ``predicted_name`` its name
``probability``     its softmax probability
``actual``          the true class and ``actual_name``, when the input has one
``top3``            the three most probable classes, with ``top3_names`` and
                    ``top3_probabilities`` (``;``-separated in CSV, lists in JSON)
==================  ==========================================================

Under DDP rank 0 gathers the rows and writes the file once, atomically. A
``--prediction.output`` file is checked before anything is predicted: writable, and not
replaced without ``--prediction.overwrite true`` (the run folder's own always is).
"""

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from fashion_lit.batches import CLASS_INDEX, PATH, prediction_rows
from fashion_lit.io.files import check_writable, replaced_atomically

Format = Literal["csv", "json"]


def tutorial_line(row: dict[str, Any]) -> str:
    """The tutorial's closing line for one prediction (with its path, for an image file)."""
    if PATH in row:
        return f'{row[PATH]}: Predicted: "{row["predicted_name"]}" ({row["probability"]:.1%})'
    return f'Predicted: "{row["predicted_name"]}", Actual: "{row.get("actual_name")}"'


def in_input_order(rows: Sequence[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows sorted by input position, each position once."""
    return [row for _, row in sorted(dict(rows).items())]


def write_rows(rows: Sequence[dict[str, Any]], path: Path, format: Format) -> None:
    """Write ``rows`` to ``path`` as CSV or JSON, atomically."""
    with replaced_atomically(path) as tmp, open(tmp, "w", newline="") as out:
        if format == "json":  # a list of objects, one per line
            out.write("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n")
            return
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["index"])
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: ";".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()}
            )


def gather_on_rank_zero(trainer: Trainer, rows: list) -> list | None:
    """Every rank's ``rows`` on rank 0 (``None`` on the others); ``rows`` when alone."""
    if trainer.world_size == 1 or not torch.distributed.is_initialized():
        return rows
    gathered: list | None = [None] * trainer.world_size if trainer.is_global_zero else None
    torch.distributed.gather_object(rows, gathered, dst=0)
    return [row for part in gathered for row in part] if gathered is not None else None


class PredictionWriter(BasePredictionWriter):
    """Writes ``predict``'s results to a CSV or JSON file and prints the tutorial's line.

    Args:
        output: the file; by default ``predictions.csv`` (or ``.json``) in the run folder.
        format: ``csv`` or ``json``; by default ``json`` when ``output`` ends in
            ``.json``, else ``csv``.
        print_limit: print the tutorial's line for each input when there are at most
            this many.
        overwrite: replace ``output`` if it exists; otherwise an existing file is refused
            before anything is predicted.
    """

    def __init__(
        self,
        output: str | None = None,
        format: Format | None = None,
        print_limit: int = 20,
        overwrite: bool = False,
    ) -> None:
        super().__init__(write_interval="epoch")
        self.output = output
        self.format: Format = format or (
            "json" if output is not None and output.lower().endswith(".json") else "csv"
        )
        self.print_limit = print_limit
        self.overwrite = overwrite

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Check ``output`` before anything is predicted, so that a bad path costs nothing
        and an existing file is not lost; every rank checks, so that all stop alike."""
        if stage == "predict" and self.output:
            check_writable(
                self.output,
                "--prediction.output",
                None if self.overwrite else "--prediction.overwrite true",
            )

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
        # With one predict dataloader, Lightning gives its batches' dataset indices as
        # the first (and only) entry of a per-dataloader list.
        indices = batch_indices[0] if batch_indices else []
        rows = []
        for batch, positions in zip(predictions, indices or [None] * len(predictions), strict=True):
            if not positions:  # not tracked (a custom sampler): batches come in order
                positions = range(len(rows), len(rows) + len(batch[CLASS_INDEX]))
            rows.extend(prediction_rows(batch, positions, classes))
        # trainer.log_dir is a collective call under DDP: every rank must ask for it.
        path = self.output_path(trainer)
        gathered = gather_on_rank_zero(trainer, rows)
        if gathered is None:
            return
        ordered = in_input_order(gathered)
        write_rows(ordered, path, self.format)
        if len(ordered) <= self.print_limit:
            for row in ordered:
                print(tutorial_line(row))
        print(f"Wrote {len(ordered)} prediction{'s' if len(ordered) != 1 else ''} to {path}")

    def output_path(self, trainer: Trainer) -> Path:
        if self.output:
            return Path(self.output)
        return Path(trainer.log_dir or ".") / f"predictions.{self.format}"
