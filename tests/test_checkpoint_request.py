"""``--ckpt_path`` is resolved once, in one place, and the Lightning behaviour that makes
this necessary is pinned here: if Lightning changes it, these tests say so."""

import sys
from pathlib import Path

import pytest
import torch

from fashion_lit.checkpoints.request import request_checkpoint
from fashion_lit.cli import cli_main
from fashion_lit.data import FashionMNISTDataModule
from fashion_lit.module import ImageClassifier
from tests.helpers.cli import ParseOnlyCLI, expect_cli_error
from tests.helpers.tiny_data import tiny_options


@pytest.fixture(scope="module")
def smoothed(tmp_path_factory, tiny_mirror, tiny_checksums) -> Path:
    """A run folder's last.ckpt, trained with label smoothing 0.25."""
    folder = tmp_path_factory.mktemp("smoothed")
    argv = sys.argv
    sys.argv = ["python -m fashion_lit"]
    try:
        args = [*tiny_options(tiny_mirror, tiny_checksums), "--trainer.max_epochs=1"]
        cli = cli_main(
            ["fit", *args, "--model.label_smoothing=0.25", f"--trainer.default_root_dir={folder}"]
            + [f"--trainer.logger.init_args.save_dir={folder}"]
        )
    finally:
        sys.argv = argv
    return Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt"


def test_lightning_cli_copies_a_ckpt_paths_hyperparameters_left_in_the_config(
    smoothed, tiny_args, monkeypatch
):
    """Why fashion_lit takes ``ckpt_path`` out of the config while parsing: LightningCLI
    would read the file again and copy all of its hyperparameters, unchecked."""
    monkeypatch.setattr(sys, "argv", ["lightning"])
    args = ["test", *tiny_args, f"--ckpt_path={smoothed}"]
    cli = ParseOnlyCLI(ImageClassifier, FashionMNISTDataModule, args=args)
    assert cli.config.test.model.label_smoothing == 0.25


def test_fashion_lit_takes_the_hyperparameters_through_its_check_and_keeps_the_file(
    smoothed, run_cli, tiny_args
):
    cli = run_cli("test", *tiny_args, f"--ckpt_path={smoothed}")
    assert cli.config.test.ckpt_path is None  # Lightning saw no ckpt_path to read
    stored = torch.load(smoothed, weights_only=True)["hyper_parameters"]
    assert cli.request.hyperparameters == {k: v for k, v in stored.items() if k[0] != "_"}
    assert cli.model.hparams.label_smoothing == 0.25
    assert cli.request.trainer_path == str(smoothed.resolve())


def test_the_trainer_restores_what_the_request_names(smoothed, run_cli, tiny_args):
    cli = run_cli("validate", *tiny_args, f"--ckpt_path={smoothed}")
    saved = torch.load(smoothed, weights_only=True)["state_dict"]
    assert all(torch.equal(cli.model.state_dict()[key], saved[key]) for key in saved)


def test_an_evaluation_adds_to_the_checkpoints_run_only_under_the_configs_runs(smoothed):
    run = smoothed.parent.parent
    here = {"trainer": {"logger": {"init_args": {"save_dir": ".", "name": "lightning_logs"}}}}
    there = {"trainer": {"logger": {"init_args": {"save_dir": str(run.parent.parent)}}}}
    there["trainer"]["logger"]["init_args"]["name"] = run.parent.name
    assert request_checkpoint(str(smoothed), here, given=None).run is None
    assert request_checkpoint(str(smoothed), there, given=None).run == run


def test_model_weights_is_refused_in_one_line_naming_ckpt_path(run_cli, capsys, tiny_args):
    message = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--model.weights=model.pth")
    assert message == (
        "error: --model.weights is gone: pass the file as --ckpt_path FILE (a checkpoint, "
        "the tutorial's model.pth, or a URL).\n"
    )
