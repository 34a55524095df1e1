"""``python -m fashion_lit``, driven in-process as a user drives it from a shell."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from fashion_lit.runs import best_checkpoint
from tests.helpers.cli import expect_cli_error
from tests.helpers.paths import REPO

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def run_folder(version: int = 0) -> Path:
    return Path("lightning_logs") / f"version_{version}"


def test_help_lists_the_four_subcommands(run_cli, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli("--help")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: python -m fashion_lit" in out
    for subcommand in ("fit", "validate", "test", "predict"):
        assert subcommand in out


def test_print_config_holds_the_tutorials_hyperparameters(run_cli, capsys):
    with pytest.raises(SystemExit):
        run_cli("fit", f"--config={CONFIGS / 'quickstart.yaml'}", "--print_config")
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["data"]["batch_size"] == 64
    assert config["trainer"]["max_epochs"] == 5
    assert config["trainer"]["accelerator"] == "auto"
    assert config["model"]["optimizer"]["class_path"] == "torch.optim.SGD"
    assert config["model"]["optimizer"]["init_args"]["lr"] == 1e-3
    assert config["seed_everything"] == 0
    assert config["checkpoint"]["monitor"] == "val/acc" and config["checkpoint"]["save_last"]


def test_parity_config_validates_on_the_test_set_without_shuffling(run_cli, capsys):
    with pytest.raises(SystemExit):
        run_cli("fit", f"--config={CONFIGS / 'parity.yaml'}", "--print_config")
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["data"]["val_size"] == 0 and config["data"]["shuffle"] is False
    assert config["seed_everything"] == 0


def test_misspelled_option_fails_with_a_message(run_cli, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli("fit", "--trainer.max_epoch=3")
    assert exit_.value.code == 2
    assert "--trainer.max_epoch" in capsys.readouterr().err


def test_abbreviated_option_is_rejected(run_cli, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli("fit", "--conf", str(CONFIGS / "quickstart.yaml"))
    assert exit_.value.code == 2
    assert "--conf" in capsys.readouterr().err


def test_fit_writes_a_complete_run_folder(run_cli, tiny_args):
    cli = run_cli("fit", *tiny_args)
    run = run_folder(0)
    assert (run / "config.yaml").is_file() and (run / "hparams.yaml").is_file()
    assert list(run.glob("events.out.tfevents.*"))
    assert (run / "checkpoints" / "last.ckpt").is_file()
    best = Path(cli.trainer.checkpoint_callback.best_model_path)
    assert best.parent.resolve() == (run / "checkpoints").resolve() and best.is_file()
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["trainer"]["max_epochs"] == 2


def test_second_fit_lands_in_the_next_version_folder(run_cli, tiny_args):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    assert (run_folder(1) / "config.yaml").is_file()
    assert (run_folder(1) / "checkpoints" / "last.ckpt").is_file()


def test_validate_last_in_a_new_cli_uses_the_trained_weights(run_cli, tiny_args):
    fit = run_cli("fit", *tiny_args)
    final_val_acc = float(fit.trainer.callback_metrics["val/acc"])
    validated = run_cli("validate", *tiny_args, "--ckpt_path=last")
    assert validated.trainer.ckpt_path == str(
        (run_folder(0) / "checkpoints" / "last.ckpt").resolve()
    )
    assert float(validated.trainer.callback_metrics["val/acc"]) == pytest.approx(final_val_acc)


def test_test_best_in_a_new_cli_uses_the_best_checkpoint(run_cli, tiny_args):
    fit = run_cli("fit", *tiny_args)
    best_path = Path(fit.trainer.checkpoint_callback.best_model_path)
    best_score = float(fit.trainer.checkpoint_callback.best_model_score)
    validated = run_cli("validate", *tiny_args, "--ckpt_path=best")
    assert Path(validated.trainer.ckpt_path).resolve() == best_path.resolve()
    assert float(validated.trainer.callback_metrics["val/acc"]) == pytest.approx(best_score)
    tested = run_cli("test", *tiny_args, "--ckpt_path=best")
    state = torch.load(best_path, weights_only=True)["state_dict"]
    for name, value in tested.model.state_dict().items():
        assert torch.equal(value, state[name]), name
    assert 0 <= float(tested.trainer.callback_metrics["test/acc"]) <= 1


def test_aliases_follow_the_most_recent_run(run_cli, tiny_args):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    tested = run_cli("test", *tiny_args, "--ckpt_path=last")
    assert tested.trainer.ckpt_path == str((run_folder(1) / "checkpoints" / "last.ckpt").resolve())


def test_aliases_follow_the_run_a_config_names(run_cli, tiny_args):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1", "--trainer.logger.init_args.version=a")
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    named = Path("lightning_logs/a/config.yaml").resolve()
    for alias in ("best", "last"):
        tested = run_cli("test", *tiny_args, f"--config={named}", f"--ckpt_path={alias}")
        assert Path(tested.trainer.ckpt_path).parent.parent == Path("lightning_logs/a").resolve()
    # A config that names no run (version: null, as fit saves it) means the latest run.
    latest = run_cli(
        "test", *tiny_args, "--config=lightning_logs/version_0/config.yaml", "--ckpt_path=last"
    )
    assert latest.trainer.ckpt_path == str((run_folder(0) / "checkpoints" / "last.ckpt").resolve())


def test_an_alias_in_a_named_run_without_checkpoints_fails_clearly(run_cli, tiny_args, capsys):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    err = expect_cli_error(
        run_cli,
        capsys,
        "test",
        *tiny_args,
        "--trainer.logger.init_args.version=7",
        "--ckpt_path=best",
    )
    assert "--ckpt_path best: The config names the run lightning_logs/version_7" in err
    assert "has no checkpoints/ folder" in err


@pytest.mark.parametrize("alias", ["best", "last"])
def test_alias_without_any_run_fails_clearly(run_cli, tiny_args, capsys, alias):
    with pytest.raises(SystemExit) as exit_:
        run_cli("test", *tiny_args, f"--ckpt_path={alias}")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"--ckpt_path {alias}" in err and "No trained run found under lightning_logs" in err


def test_last_alias_names_the_run_folder_when_it_has_no_last_checkpoint(run_cli, tiny_args, capsys):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1", "--checkpoint.save_last=false")
    with pytest.raises(SystemExit):
        run_cli("test", *tiny_args, "--ckpt_path=last")
    err = capsys.readouterr().err
    assert str(run_folder(0)) in err and "has no checkpoints/last.ckpt" in err


def test_best_when_the_newest_run_has_none_names_it_and_the_runs_best_that_would_do(
    run_cli, tiny_args, capsys
):
    fit = run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    best = Path(fit.trainer.checkpoint_callback.best_model_path)
    # A run stopped in its first epoch, before a validation ended: only last.ckpt.
    stopped = run_folder(1) / "checkpoints"
    stopped.mkdir(parents=True)
    shutil.copy(run_folder(0) / "checkpoints" / "last.ckpt", stopped / "last.ckpt")
    capsys.readouterr()

    message = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--ckpt_path=best")

    assert message == (
        f"error: --ckpt_path best: The newest run, {run_folder(1)}, has no best checkpoint "
        "(it was stopped before its first validation ended; checkpoints there: last.ckpt). "
        f"The most recent run that has one is {run_folder(0)}: pass --ckpt_path {best}\n"
    )


def test_best_is_found_without_last_checkpoint_when_only_one_is_kept(run_cli, tiny_args):
    fit = run_cli("fit", *tiny_args, "--trainer.max_epochs=1", "--checkpoint.save_last=false")
    assert (
        best_checkpoint(run_folder(0)).resolve()
        == Path(fit.trainer.checkpoint_callback.best_model_path).resolve()
    )


def test_predict_prints_the_tutorials_line_and_writes_a_csv(run_cli, tiny_args, capsys):
    run_cli("fit", *tiny_args)
    capsys.readouterr()
    predicted = run_cli(
        "predict",
        *tiny_args,
        "--ckpt_path=best",
        "--data.predict_indices=[0, 3]",
        "--prediction.output=predictions.csv",
    )
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Predicted:")]
    test_set = predicted.datamodule.test_set
    classes = predicted.datamodule.classes
    assert len(lines) == 2
    assert lines[0].endswith(f'Actual: "{classes[test_set[0][1]]}"')
    assert lines[1].endswith(f'Actual: "{classes[test_set[3][1]]}"')
    rows = Path("predictions.csv").read_text().splitlines()
    assert rows[0].startswith("index,predicted,predicted_name,probability,actual")
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "3"]


@pytest.mark.parametrize("subcommand", ["validate", "test", "predict"])
def test_evaluating_without_trained_weights_is_refused(run_cli, tiny_args, capsys, subcommand):
    err = expect_cli_error(run_cli, capsys, subcommand, *tiny_args)
    assert f"{subcommand} needs trained weights: pass --ckpt_path best, last" in err
    assert "--untrained true" in err
    assert not Path("lightning_logs").exists()


def test_untrained_true_evaluates_the_random_weights_as_a_smoke_test(run_cli, tiny_args):
    tested = run_cli("test", *tiny_args, "--untrained=true")
    assert 0 <= float(tested.trainer.callback_metrics["test/acc"]) <= 1


def test_a_command_that_fails_leaves_no_new_run_folder(run_cli, tiny_args, capsys):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    before = sorted(p.name for p in Path("lightning_logs").iterdir())
    err = expect_cli_error(
        run_cli, capsys, "predict", *tiny_args, "--untrained=true", "--data.predict_paths=[x.png]"
    )
    assert "x.png: no such file or folder" in err
    assert sorted(p.name for p in Path("lightning_logs").iterdir()) == before == ["version_0"]


def installed_script() -> Path:
    return Path(sys.executable).with_name("fashion-lit")


def test_the_installed_console_script_trains_and_exits_with_status_0(tiny_args):
    result = subprocess.run(
        [str(installed_script()), "fit", *tiny_args, "--trainer.max_epochs=1"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Its closing lines, and no stray object printed on the way out.
    assert result.stdout.startswith("fit: wrote lightning_logs/version_0 (")
    assert result.stdout.strip().splitlines()[-1].startswith("        python -m fashion_lit serve")
    assert (run_folder(0) / "checkpoints" / "last.ckpt").is_file()


def test_the_installed_console_script_lists_the_subcommands():
    result = subprocess.run(
        [str(installed_script()), "--help"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    for command in ("fit", "validate", "test", "predict", "export", "serve", "tune"):
        assert f"\n  {command} " in result.stdout


def test_the_progress_bar_shows_the_step_loss_when_it_redraws(run_cli, tiny_args, capsys):
    shown = [*tiny_args, "--trainer.enable_progress_bar=true", "--trainer.log_every_n_steps=2"]
    run_cli("fit", *shown, "--trainer.max_epochs=1")
    assert "train/loss_step=" in capsys.readouterr().out


def test_any_logger_option_given_alone_works_with_every_command(run_cli, tiny_args):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    run = Path("lightning_logs") / "version_0"
    for option in ("save_dir=.", "name=lightning_logs", "version=version_0"):
        alone = f"--trainer.logger.init_args.{option}"
        for command in ("validate", "test"):
            done = run_cli(command, *tiny_args, alone, "--ckpt_path=best")
            assert Path(done.trainer.ckpt_path).parent.parent == run.resolve(), (command, option)
        run_cli("predict", *tiny_args, alone, "--ckpt_path=best", "--data.predict_indices=[0]")
    resumed = run_cli(
        "fit", *tiny_args, "--trainer.logger.init_args.name=lightning_logs", "--ckpt_path=last"
    )
    assert resumed.trainer.current_epoch == 2
