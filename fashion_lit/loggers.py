"""The loggers of fashion_lit runs: TensorBoard's, with real metrics in its HPARAMS tab.

Lightning's ``TensorBoardLogger`` fills TensorBoard's HPARAMS tab with an ``hp_metric``
stuck at -1 unless the user logs it by hand (Lightning-AI/pytorch-lightning#7764). This
one registers the run's real metrics there instead — the best validation accuracy and
the test accuracy — whose values TensorBoard reads from the scalars logged under those
names, and lays out train and validation curves on shared charts.
"""

from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from torch.utils.tensorboard.summary import hparams

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

#: TensorBoard's CUSTOM SCALARS tab: each chart draws its curves on one set of axes.
CHARTS = {
    "fashion_lit": {
        "loss per epoch": ["Multiline", [TRAIN_LOSS, VAL_LOSS]],
        "accuracy per epoch": ["Multiline", [TRAIN_ACC, VAL_ACC, VAL_ACC_BEST]],
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
        if metrics is None:
            # Register the metric names only: their values come from the scalars that the
            # module logs under the same names, so nothing placeholder-like is written.
            flat = flatten_hyperparameters(params)
            for summary in hparams(flat, dict.fromkeys(HPARAMS_METRICS, 0.0)):
                self.experiment.file_writer.add_summary(summary)
        if not self._charts_written:
            self.experiment.add_custom_scalars(CHARTS)
            self._charts_written = True


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
