"""A trial on two DDP processes (gloo, on the CPU): reported once, pruned on every process,
its threads shared among them."""

from pathlib import Path

import optuna
from optuna.trial import TrialState

from fashion_lit.tune.study import default_storage
from tests.helpers.ddp import on_two_processes
from tests.helpers.paths import REPO
from tests.helpers.tensorboard import read_events
from tests.helpers.tune import run_tune

STUDY_DIR = Path("lightning_logs") / "search"
# Below any accuracy: every trial is pruned at its first report.
SEARCH = """\
params:
  model.optimizer.init_args.lr: {type: float, low: 0.01, high: 0.05, log: true}
pruner: {class_path: optuna.pruners.ThresholdPruner, init_args: {lower: 1.1}}
"""


def test_a_ddp_trial_reports_the_synced_val_acc_and_stops_on_every_process(tiny_args):
    Path("search.yaml").write_text(SEARCH)
    # Lightning starts the second process of each trial's fit itself. A process that
    # missed the verdict would wait for the other forever, and the search with it.
    run_tune(
        Path.cwd(),
        f"--config={REPO / 'configs' / 'quickstart.yaml'}",
        "--search=search.yaml",
        "--trials=1",
        "--threads=2",  # for the trial: one for each of its processes
        "--",
        *on_two_processes(tiny_args),
        "--trainer.logger.init_args.log_graph=false",
    )
    study = optuna.load_study(study_name="search", storage=default_storage(STUDY_DIR))
    (trial,) = study.get_trials()
    assert trial.state == TrialState.PRUNED and trial.user_attrs["pruned_at_epoch"] == 0
    assert trial.user_attrs["threads"] == 1
    logged = read_events(STUDY_DIR / "trial_0").Scalars("val/acc")
    assert [event.value for event in logged] == [trial.intermediate_values[0]]
