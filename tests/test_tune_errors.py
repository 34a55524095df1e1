"""What ``tune`` refuses before any trial runs: a bad search file (with the key named),
a report on a study that does not exist, trial folders of a study that is gone."""

from pathlib import Path

import pytest

from fashion_lit.tune.space import as_options, read_search_space
from tests.helpers.cli import expect_cli_error
from tests.helpers.paths import REPO

QUICKSTART = str(REPO / "configs" / "quickstart.yaml")
TUNED = str(REPO / "configs" / "tuned.yaml")


def refusal(run_cli, capsys, tiny_args, search: str, config: str = QUICKSTART) -> str:
    """Run ``tune`` with ``search`` as the search file; its error message (exit status 2)."""
    Path("search.yaml").write_text(search)
    # One trial at most, should the search be accepted after all.
    options = ["--config", config, "--search", "search.yaml", "--trials=1"]
    err = expect_cli_error(run_cli, capsys, "tune", *options, "--", *tiny_args)
    assert not Path("lightning_logs").exists(), "nothing may be written before the search runs"
    return err


def test_the_repositorys_search_space_is_valid_for_the_tuned_recipe(tiny_args):
    space = read_search_space(REPO / "configs" / "search.yaml")
    assert set(space.params) == {
        "model.lr_scheduler.init_args.max_lr",
        "model.optimizer.init_args.weight_decay",
        "model.label_smoothing",
    }
    assert type(space.sampler).__name__ == "TPESampler"
    assert space.pruner_spec["class_path"] == "optuna.pruners.MedianPruner"


def test_a_misspelled_key_is_refused_with_its_name(run_cli, capsys, tiny_args):
    err = refusal(
        run_cli,
        capsys,
        tiny_args,
        "params: {model.label_smothing: {type: float, low: 0.0, high: 0.2}}\n",
    )
    assert (
        "search.yaml: params: model.label_smothing: fit refuses --model.label_smothing=0.0" in err
    )
    assert "unrecognized arguments" in err


def test_a_key_of_a_class_the_config_does_not_use_is_refused(run_cli, capsys, tiny_args):
    # The quickstart has no learning-rate schedule, so there is no max_lr to search.
    search = "params: {model.lr_scheduler.init_args.max_lr: {type: float, low: 0.01, high: 0.5}}\n"
    err = refusal(run_cli, capsys, tiny_args, search, config=QUICKSTART)
    assert "params: model.lr_scheduler.init_args.max_lr: fit refuses" in err


def test_a_choice_of_the_wrong_type_is_refused_with_the_value(run_cli, capsys, tiny_args):
    search = "params: {data.batch_size: {type: categorical, choices: [64, big]}}\n"
    err = refusal(run_cli, capsys, tiny_args, search)
    assert "params: data.batch_size: fit refuses --data.batch_size=big" in err


def test_a_key_that_tune_sets_for_each_trial_is_refused(run_cli, capsys, tiny_args):
    search = "params: {seed_everything: {type: int, low: 0, high: 9}}\n"
    err = refusal(run_cli, capsys, tiny_args, search)
    assert "params: seed_everything: is set by tune for every trial" in err


@pytest.mark.parametrize(
    ("range_", "message"),
    [
        (
            "{type: uniform, low: 0.0, high: 0.2}",
            "type: 'uniform' is not one of float, int, categorical",
        ),
        (
            "{type: float, lo: 0.0, high: 0.2}",
            "a float range takes low, high, log, step (got lo, high)",
        ),
        (
            "{type: float, low: 0.5, high: 0.1}",
            "`low <= high` must hold, but got (low=0.5, high=0.1)",
        ),
        ("{type: float, low: 0.0, high: 0.1, log: true}", "`low > 0` must hold for `log=True`"),
        ("{type: float, low: small, high: 0.1}", "low: 'small' is not a number"),
        ("{type: int, low: 3, high: 1}", "`low <= high` must hold, but got (low=3, high=1)"),
        ("{type: categorical, choices: []}", "The `choices` must contain one or more elements"),
        ("0.1", "give a mapping such as {type: float, low: 0.0, high: 0.2}, not 0.1"),
    ],
    ids=[
        "unknown-type",
        "unknown-argument",
        "empty-range",
        "log-from-zero",
        "not-a-number",
        "empty-int-range",
        "no-choices",
        "not-a-range",
    ],
)
def test_a_bad_range_is_refused_with_its_key_and_the_rule(
    run_cli, capsys, tiny_args, range_, message
):
    err = refusal(run_cli, capsys, tiny_args, f"params: {{model.label_smoothing: {range_}}}\n")
    assert f"search.yaml: params: model.label_smoothing: {message}" in err


def test_a_search_without_keys_is_refused(run_cli, capsys, tiny_args):
    err = refusal(run_cli, capsys, tiny_args, "params: {}\n")
    assert "search.yaml: params: give at least one key to search" in err


def test_an_unknown_section_is_refused(run_cli, capsys, tiny_args):
    err = refusal(
        run_cli,
        capsys,
        tiny_args,
        "params: {model.label_smoothing: {type: float, low: 0.0, high: 0.2}}\n"
        "prunner: {class_path: optuna.pruners.NopPruner}\n",
    )
    assert "search.yaml:" in err and "prunner" in err


def test_an_unknown_pruner_is_refused_with_its_class_path(run_cli, capsys, tiny_args):
    search = (
        "params: {model.label_smoothing: {type: float, low: 0.0, high: 0.2}}\n"
        "pruner: {class_path: optuna.pruners.MedianPrunner}\n"
    )
    err = refusal(run_cli, capsys, tiny_args, search)
    assert "search.yaml:" in err and "optuna.pruners.MedianPrunner" in err


def test_a_missing_search_file_is_named(run_cli, capsys, tiny_args):
    err = expect_cli_error(
        run_cli, capsys, "tune", "--config", QUICKSTART, "--search", "nowhere.yaml"
    )
    assert "--search nowhere.yaml: no such file" in err


def test_values_become_options_as_a_shell_would_write_them():
    values = {
        "model.label_smoothing": 0.1,
        "model.optimizer": "torch.optim.AdamW",
        "data.shuffle": False,
    }
    assert as_options(values) == [
        "--model.label_smoothing=0.1",
        "--model.optimizer=torch.optim.AdamW",
        "--data.shuffle=false",
    ]


def test_a_report_on_a_study_that_never_ran_says_so(run_cli, capsys, workdir):
    err = expect_cli_error(run_cli, capsys, "tune", "--study_name=nothing", "--report")
    assert "There is no study folder lightning_logs/nothing: run the search first" in err


def test_a_new_study_over_the_trial_folders_of_a_lost_one_is_refused(run_cli, capsys, tiny_args):
    lost = Path("lightning_logs") / "search" / "trial_0"
    (lost / "checkpoints").mkdir(parents=True)
    Path("search.yaml").write_text(
        "params: {model.label_smoothing: {type: float, low: 0.0, high: 0.2}}\n"
    )
    options = ["--config", QUICKSTART, "--search", "search.yaml", "--trials=1"]
    err = expect_cli_error(run_cli, capsys, "tune", *options, "--", *tiny_args)
    assert "lightning_logs/search holds trial folders (trial_0) but" in err
    assert "Move them away, or choose another --study_name" in err
    assert [p.name for p in lost.parent.iterdir()] == ["trial_0"]
