"""``python -m fashion_lit tune`` run in-process, and a pruner whose verdicts are known."""

import contextlib
import io
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
