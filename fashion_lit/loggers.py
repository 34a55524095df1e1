"""The loggers of fashion_lit runs: TensorBoard's with real metrics in its HPARAMS tab, and
a CSV logger whose runs keep their metrics; a new logger goes here.

Lightning's ``TensorBoardLogger`` fills TensorBoard's HPARAMS tab with an ``hp_metric``
stuck at -1 unless the user logs it by hand (Lightning-AI/pytorch-lightning#7764). This
one registers the run's real metrics there instead — the best validation accuracy and
the test accuracy — whose values TensorBoard reads from the scalars logged under those
names, and lays out train and validation curves on shared charts.
"""

import itertools
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only
from tensorboard.plugins.hparams.summary_v2 import HParam, Metric, hparams_config_pb, hparams_pb

from fashion_lit.metrics import (
    TEST_ACC,
    TEST_LOSS,
    TRAIN_ACC,
    TRAIN_LOSS,
    VAL_ACC,
    VAL_ACC_BEST,
    VAL_LOSS,
)

#: Metrics shown beside the hyperparameters in TensorBoard's HPARAMS tab.
HPARAMS_METRICS = (VAL_ACC_BEST, VAL_ACC, VAL_LOSS, TEST_ACC, TEST_LOSS)

#: TensorBoard's CUSTOM SCALARS tab: each chart draws its curves on one set of axes, whose
#: horizontal one is the training step (the epochs' values sit at each epoch's last step).
CHARTS = {
    "fashion_lit": {
        "loss by training step (a point per epoch)": ["Multiline", [TRAIN_LOSS, VAL_LOSS]],
        "accuracy by training step (a point per epoch)": [
            "Multiline",
            [TRAIN_ACC, VAL_ACC, VAL_ACC_BEST],
        ],
    }
}


class RunLogger(TensorBoardLogger):
    """A ``TensorBoardLogger`` with real metrics in the HPARAMS tab and paired charts.

    Takes the same arguments as Lightning's ``TensorBoardLogger``; ``default_hp_metric``
    defaults to off, since the real metrics take the placeholder's place.
    """

    def __init__(self, *args: Any, default_hp_metric: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, default_hp_metric=default_hp_metric, **kwargs)
        self._charts_written = False

    @rank_zero_only
    def log_hyperparams(
        self,
        params: dict[str, Any] | Namespace,
        metrics: dict[str, Any] | None = None,
        step: int | None = None,
    ) -> None:
        super().log_hyperparams(params, metrics, step)
        # Closed at the end of a fit that a test follows in the same process: writing the
        # charts opens a new event file, which then gets them too.
        if not self._charts_written or self.experiment.file_writer is None:
            self.experiment.add_custom_scalars(CHARTS)
            self._charts_written = True
        if metrics is None:
            # Register the metric names only: their values come from the scalars that the
            # module logs under the same names, so nothing placeholder-like is written.
            # TensorBoard's own summaries, not torch's: torch's records a boolean as the
            # number 1.0 (it tests for int first), which the tab shows as 1.0000.
            flat = flatten_hyperparameters(params)
            config = hparams_config_pb(
                hparams=[HParam(name) for name in flat],
                metrics=[Metric(name) for name in HPARAMS_METRICS],
            )
            for summary in (config, hparams_pb(flat)):
                self.experiment.file_writer.add_summary(summary)


def flatten_hyperparameters(params: Mapping[str, Any] | Namespace, prefix: str = "") -> dict:
    """Nested hyperparameters as TensorBoard's HPARAMS tab takes them: one level of
    ``/``-joined keys, each value a number, a string or a boolean (anything else, such as
    None or a list, shown as its text)."""
    if isinstance(params, Namespace):
        params = vars(params)
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, (Mapping, Namespace)):
            flat.update(flatten_hyperparameters(value, prefix=f"{name}/"))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:
            flat[name] = str(value)
    return flat


class RunCSVLogger(CSVLogger):
    """Lightning's ``CSVLogger`` for runs that go on in later commands.

    Lightning's writer deletes the ``metrics.csv`` it finds in the run's folder, so a
    resumed ``fit`` or a ``test`` of the run's checkpoint would erase the training's
    metrics. Here each command of a run writes the first free name instead:
    ``metrics.csv``, then ``metrics-1.csv``, ``metrics-2.csv``... Same arguments as
    ``CSVLogger``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writer: ExperimentWriter | None = None

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self.writer is None:
            folder = Path(self.log_dir)
            numbered = (f"metrics-{n}.csv" for n in itertools.count(1))
            names = itertools.chain(["metrics.csv"], numbered)
            name = next(name for name in names if not (folder / name).exists())
            self.writer = MetricsWriter(self.log_dir, name)
        return self.writer


class MetricsWriter(ExperimentWriter):
    """Lightning's CSV ``ExperimentWriter``, writing the metrics to the file named."""

    def __init__(self, log_dir: str, metrics_file: str) -> None:
        self.NAME_METRICS_FILE = metrics_file  # read by Lightning's __init__
        super().__init__(log_dir)
