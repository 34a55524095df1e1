"""``python -m fashion_lit tune``: a four-trial search with pruning on the tiny data set.

One search, run once for the module, two trials at a time: its trials are ordinary run
folders, its study and best config are on disk, its pruned trials stopped where the
pruner said, and ``fit --config best.yaml`` trains the best trial again, exactly.
"""

from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
import torch
import yaml
from optuna.trial import FrozenTrial, TrialState

from fashion_lit.checkpoints import read
from fashion_lit.tune.study import default_storage
from tests.helpers.paths import REPO
from tests.helpers.tensorboard import hparams_session, read_events
from tests.helpers.tiny_data import tiny_options
from tests.helpers.tune import PruneOddTrials, run_tune

TRIALS = 4
SEARCH = """\
params:
  model.optimizer.init_args.lr: {type: float, low: 0.001, high: 0.05, log: true}
  data.batch_size: {type: categorical, choices: [16, 32]}
sampler: {class_path: optuna.samplers.TPESampler, init_args: {seed: 0}}
"""
SEARCH += f"pruner: {{class_path: {PruneOddTrials.__module__}.{PruneOddTrials.__qualname__}}}\n"


@dataclass(frozen=True)
class Searched:
    folder: Path
    output: str
    command: list[str]

    @property
    def study_dir(self) -> Path:
        return self.folder / "lightning_logs" / "search"

    def trials(self) -> list[FrozenTrial]:
        study = optuna.load_study(study_name="search", storage=default_storage(self.study_dir))
        return study.get_trials()


@pytest.fixture(scope="module")
def searched(tmp_path_factory, tiny_mirror, tiny_checksums) -> Searched:
    folder = tmp_path_factory.mktemp("tune")
    (folder / "search.yaml").write_text(SEARCH)
    command = [
        f"--config={REPO / 'configs' / 'quickstart.yaml'}",
        "--search=search.yaml",
        f"--trials={TRIALS}",
        "--jobs=2",
        "--",
        *tiny_options(tiny_mirror, tiny_checksums),
        "--trainer.logger.init_args.log_graph=false",
    ]
    return Searched(folder, run_tune(folder, *command), command)


def test_every_trial_is_a_run_folder_named_by_its_number(searched):
    for number in range(TRIALS):
        run = searched.study_dir / f"trial_{number}"
        assert (run / "config.yaml").is_file() and (run / "hparams.yaml").is_file()
        assert (run / "checkpoints" / "last.ckpt").is_file()
        assert list(run.glob("events.out.tfevents.*"))
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["trainer"]["logger"]["init_args"]["version"] == f"trial_{number}"
    assert sorted(p.name for p in searched.study_dir.glob("trial_*")) == [
        f"trial_{n}" for n in range(TRIALS)
    ]


def test_the_study_database_and_the_best_config_are_in_the_study_folder(searched):
    assert (searched.study_dir / "study.db").is_file()
    assert (searched.study_dir / "best.yaml").is_file()
    assert [trial.number for trial in searched.trials()] == list(range(TRIALS))


def test_pruned_trials_stop_after_the_epoch_the_pruner_named(searched):
    trials = searched.trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED] * 2
    for trial in trials:
        last = read(
            searched.study_dir / f"trial_{trial.number}" / "checkpoints" / "last.ckpt"
        ).contents
        if trial.state == TrialState.PRUNED:
            assert trial.user_attrs["pruned_at_epoch"] == 0
            assert list(trial.intermediate_values) == [0] and last["epoch"] == 0
        else:
            assert list(trial.intermediate_values) == [0, 1] and last["epoch"] == 1


def test_a_trials_value_is_its_best_val_acc_as_its_checkpoint_recorded_it(searched):
    for trial in searched.trials():
        if trial.state != TrialState.COMPLETE:
            continue
        last = read(
            searched.study_dir / f"trial_{trial.number}" / "checkpoints" / "last.ckpt"
        ).contents
        (checkpoint_state,) = [
            state for key, state in last["callbacks"].items() if key.startswith("RunCheckpoint")
        ]
        assert trial.value == max(trial.intermediate_values.values())
        assert trial.value == pytest.approx(float(checkpoint_state["best_model_score"]))


def test_each_trial_runs_with_its_values_and_records_seed_threads_and_config(searched):
    for trial in searched.trials():
        config = yaml.safe_load(
            (searched.study_dir / f"trial_{trial.number}" / "config.yaml").read_text()
        )
        assert (
            config["model"]["optimizer"]["init_args"]["lr"]
            == trial.params["model.optimizer.init_args.lr"]
        )
        assert config["data"]["batch_size"] == trial.params["data.batch_size"]
        assert config["seed_everything"] == trial.user_attrs["seed"] == 0  # the quickstart's
        assert trial.user_attrs["threads"] >= 1
        assert trial.user_attrs["run_dir"] == str(
            Path("lightning_logs") / "search" / f"trial_{trial.number}"
        )
        recorded = yaml.safe_load(trial.user_attrs["config"])
        assert recorded["model"] == config["model"] and recorded["data"] == config["data"]


def test_the_hparams_tab_of_each_trial_shows_its_values(searched):
    for trial in searched.trials():
        session, _ = hparams_session(read_events(searched.study_dir / f"trial_{trial.number}"))
        assert session.hparams["optimizer/init_args/lr"].number_value == pytest.approx(
            trial.params["model.optimizer.init_args.lr"]
        )
        assert session.hparams["batch_size"].number_value == trial.params["data.batch_size"]


def test_the_search_ends_with_the_table_and_the_best_trial(searched):
    lines = searched.output.splitlines()
    header = next(line for line in lines if line.startswith("trial"))
    assert header.split() == [
        "trial",
        "state",
        "val/acc",
        "epochs",
        "lr",
        "batch_size",
        "seed",
        "threads",
        "host",
        "time",
    ]
    rows = [line.split() for line in lines[lines.index(header) + 1 :][:TRIALS]]
    assert [(row[0], row[1]) for row in rows] == [
        ("0", "COMPLETE"),
        ("1", "PRUNED"),
        ("2", "COMPLETE"),
        ("3", "PRUNED"),
    ]
    best = max(
        (t for t in searched.trials() if t.state == TrialState.COMPLETE), key=lambda t: t.value
    )
    assert f"Best: trial {best.number}, val/acc {best.value:.4f}" in searched.output
    assert f"run folder lightning_logs/search/trial_{best.number}" in searched.output
    best_yaml = "lightning_logs/search/best.yaml"
    assert (
        f"Its configuration: {best_yaml}\n"
        f"  next: python -m fashion_lit test --config {best_yaml} --ckpt_path best\n"
        f"        python -m fashion_lit serve --config {best_yaml} --ckpt_path best"
    ) in searched.output


def test_fit_with_the_best_config_trains_the_best_trial_again(
    searched, run_cli, monkeypatch, capsys
):
    trials = [t for t in searched.trials() if t.state == TrialState.COMPLETE]
    best = max(trials, key=lambda t: t.value)
    best_yaml = searched.study_dir / "best.yaml"
    threads = best.user_attrs["threads"]
    assert f"OMP_NUM_THREADS={threads} python -m fashion_lit fit --config" in best_yaml.read_text()
    monkeypatch.chdir(searched.folder)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        again = run_cli("fit", f"--config={best_yaml}")
    finally:
        torch.set_num_threads(previous)
    # best.yaml names the trial's run, which fit leaves as it is: a new run beside it.
    trial_run = searched.study_dir.relative_to(searched.folder) / f"trial_{best.number}"
    assert f"{trial_run} is a trained run: this fit starts a new run." in capsys.readouterr().out
    assert (
        Path(again.trainer.log_dir) == searched.study_dir.relative_to(searched.folder) / "version_0"
    )
    assert float(again.trainer.callback_metrics["val/acc_best"]) == pytest.approx(
        best.value, abs=1e-3
    )
    trial_weights = read(
        searched.study_dir / f"trial_{best.number}" / "checkpoints" / "last.ckpt"
    ).contents["state_dict"]
    for name, tensor in again.model.state_dict().items():
        assert torch.equal(tensor, trial_weights[name]), name


def test_the_first_trial_tries_the_starting_configs_own_values(searched):
    first = searched.trials()[0]
    # The quickstart's learning rate, and the batch size of the tiny data's options.
    assert first.params == {"model.optimizer.init_args.lr": 0.001, "data.batch_size": 32}


def test_the_best_config_names_its_trials_run_for_best_and_last(searched, run_cli, monkeypatch):
    best = max(
        (t for t in searched.trials() if t.state == TrialState.COMPLETE), key=lambda t: t.value
    )
    monkeypatch.chdir(searched.folder)
    tested = run_cli(
        "test", f"--config={Path('lightning_logs') / 'search' / 'best.yaml'}", "--ckpt_path=best"
    )
    trial_run = Path("lightning_logs") / "search" / f"trial_{best.number}"
    assert Path(tested.trainer.ckpt_path).parent.parent == trial_run.resolve()


def test_a_trials_checkpoint_is_tested_in_its_run_folder_as_any_run(searched, run_cli, monkeypatch):
    monkeypatch.chdir(searched.folder)
    run = Path("lightning_logs") / "search" / "trial_0"  # not the most recent trial
    for ckpt_path in (run / "checkpoints" / "last.ckpt", "best"):
        tested = run_cli("test", f"--config={run / 'config.yaml'}", f"--ckpt_path={ckpt_path}")
        assert Path(tested.trainer.ckpt_path).parent.parent == run.resolve()
        assert 0.0 <= float(tested.trainer.callback_metrics["test/acc"]) <= 1.0
    assert (run / "config-test.yaml").is_file()


def test_report_prints_the_table_and_writes_the_best_config_without_running_trials(searched):
    best_yaml = searched.study_dir / "best.yaml"
    written = best_yaml.read_text()
    best_yaml.unlink()
    output = run_tune(searched.folder, "--search=search.yaml", "--report")
    assert best_yaml.read_text() == written
    assert "Best: trial" in output and "COMPLETE" in output and "PRUNED" in output
    assert "started" not in output
    assert len(searched.trials()) == TRIALS


def test_the_same_command_again_runs_no_trial_once_the_total_is_reached(searched):
    output = run_tune(searched.folder, *searched.command)
    assert "started" not in output
    assert len(searched.trials()) == TRIALS
    assert not (searched.study_dir / f"trial_{TRIALS}").exists()
