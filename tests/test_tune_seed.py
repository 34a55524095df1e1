"""``tune --seed``: a search that can be repeated. The study keeps the seed, and a search
with one process (``--jobs 1``) proposes the same values in the same order again."""

from pathlib import Path

import optuna

from fashion_lit.tune.study import SAMPLER_SEED, default_storage
from tests.helpers.cli import expect_cli_error
from tests.helpers.tune import run_tune, tune_command

# A range that excludes the starting config's own value, so that the first trial is
# sampled (the starting values are the first trial of a new study when in range).
SEARCH = "params: {model.label_smoothing: {type: float, low: 0.3, high: 0.4}}\n"


def search_command(tiny_args: list[str], trials: int, *options: str) -> list[str]:
    command = tune_command(tiny_args, trials, "--trainer.limit_train_batches=2")
    command[command.index("--") : command.index("--")] = [*options, "--search=search.yaml"]
    return command[command.index("tune") :]


def proposed(folder: Path, tiny_args: list[str]) -> list[dict]:
    """The values of the trials of a one-trial search with ``--seed 7`` run in ``folder``."""
    folder.mkdir()
    (folder / "search.yaml").write_text(SEARCH)
    run_tune(folder, *search_command(tiny_args, 1, "--seed=7", "--jobs=1")[1:])
    study_dir = folder / "lightning_logs" / "search"
    study = optuna.load_study(study_name="search", storage=default_storage(study_dir))
    assert study.user_attrs[SAMPLER_SEED] == 7
    return [trial.params for trial in study.get_trials()]


def test_two_searches_with_one_seed_propose_the_same_values(
    tiny_args, run_cli, capsys, monkeypatch
):
    first = proposed(Path("first"), tiny_args)
    assert len(first) == 1 and first == proposed(Path("second"), tiny_args)

    # The study keeps its seed: continuing it with another is refused.
    monkeypatch.chdir("first")
    command = search_command(tiny_args, 2, "--seed=8")
    err = expect_cli_error(run_cli, capsys, *command)
    assert "--seed 8: study 'search' was started with --seed 7; continue it with that" in err
