"""``python -m fashion_lit tune`` run in-process or as a command, and a pruner whose verdicts
are known."""

import contextlib
import io
import sys
from pathlib import Path

import optuna
import pytest
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial

from fashion_lit.__main__ import run
from tests.helpers.paths import REPO


class PruneOddTrials(BasePruner):
    """Prunes the trials with an odd number at their first report: a verdict known ahead."""

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        return trial.number % 2 == 1


def run_tune(folder: Path, *args: str) -> str:
    """``python -m fashion_lit tune ARGS`` in ``folder``, in-process; its output."""
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(output):
        patch.chdir(folder)
        # The trials are processes of their own: they import the tests' pruner and
        # callbacks by their dotted path.
        patch.setenv("PYTHONPATH", str(REPO))
        run(["tune", *args])
    return output.getvalue()


def tune_command(tiny_args: list[str], trials: int, *fit_options: str) -> list[str]:
    """The README's search of ``trials`` trials on the tiny data set, with ``fit_options``."""
    return [
        sys.executable,
        "-m",
        "fashion_lit",
        "tune",
        f"--config={REPO / 'configs' / 'tuned.yaml'}",
        f"--search={REPO / 'configs' / 'search.yaml'}",
        f"--trials={trials}",
        "--heartbeat=1",
        "--",
        *tiny_args,
        "--trainer.max_epochs=1",
        "--trainer.logger.init_args.log_graph=false",
        *fit_options,
    ]
