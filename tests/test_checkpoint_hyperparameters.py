"""A checkpoint's stored hyperparameters: plain values and allowed classes are taken, the
user's own values win, and a foreign class or a file path is refused before anything is
imported or opened."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fashion_lit.checkpoints import ForbiddenHyperparameterError, hyperparameters_to_take
from fashion_lit.checkpoints.digest import DIGEST_KEY, with_digest
from tests.helpers.checkpoints import trained_checkpoint
from tests.helpers.cli import expect_cli_error
from tests.helpers.paths import REPO
from tests.helpers.tiny_data import tiny_options


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_mirror, tiny_checksums) -> Path:
    return trained_checkpoint(tmp_path_factory.mktemp("run"), tiny_mirror, tiny_checksums)


def with_hyperparameters(trained: Path, target: str, **changes) -> str:
    """A copy of ``trained`` at ``target`` whose hyperparameters are updated with ``changes``,
    its digest written anew: what anyone who crafts a checkpoint can do."""
    checkpoint = torch.load(trained, weights_only=True)
    checkpoint["hyper_parameters"].update(changes)
    checkpoint.pop(DIGEST_KEY, None)
    torch.save(with_digest(checkpoint), target)
    return target


def test_plain_values_and_allowed_classes_are_taken():
    hparams = {
        "label_smoothing": 0.1,
        "optimizer": {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.1, "nesterov": True}},
        "lr_scheduler": {
            "class_path": "torch.optim.lr_scheduler.OneCycleLR",
            "init_args": {"max_lr": 0.1, "anneal_strategy": "cos"},
        },
        "_instantiator": "lightning.pytorch.cli.instantiate_module",
    }
    taken = hyperparameters_to_take(hparams, given=set())
    assert taken == {k: v for k, v in hparams.items() if k != "_instantiator"}


def test_keys_the_user_gives_are_neither_taken_nor_checked():
    hparams = {"optimizer": {"class_path": "my_package.MyOptimizer"}, "label_smoothing": 0.1}
    assert hyperparameters_to_take(hparams, given={"optimizer"}) == {"label_smoothing": 0.1}


@pytest.mark.parametrize(
    ("hparams", "named"),
    [
        ({"net": {"class_path": "this.Anything"}}, "model.net = 'this.Anything'"),
        ({"optimizer": {"class_path": "os.system"}}, "model.optimizer = 'os.system'"),
        ({"weights": "/etc/hostname"}, "model.weights = '/etc/hostname'"),
        (
            {
                "lr_scheduler": {
                    "class_path": "torch.optim.lr_scheduler.StepLR",
                    "init_args": {"step_size": "/etc/x"},
                }
            },
            "model.lr_scheduler.init_args.step_size = '/etc/x'",
        ),
        ({"label_smoothing": "0.1"}, "model.label_smoothing = '0.1'"),
        ({"_class_path": "other.Module"}, "model._class_path = 'other.Module'"),
    ],
)
def test_anything_else_is_refused_with_its_key(hparams, named):
    with pytest.raises(ForbiddenHyperparameterError, match="is refused") as error:
        hyperparameters_to_take(hparams, given=set())
    assert f"the checkpoint's hyperparameter {named}" in str(error.value)


def test_a_checkpoints_label_smoothing_is_used_unless_the_user_gives_one(
    run_cli, tiny_args, trained
):
    with_hyperparameters(trained, "smooth.ckpt", label_smoothing=0.25)
    tested = run_cli("test", *tiny_args, "--ckpt_path=smooth.ckpt")
    assert tested.model.hparams.label_smoothing == 0.25
    tested = run_cli("test", *tiny_args, "--ckpt_path=smooth.ckpt", "--model.label_smoothing=0")
    assert tested.model.hparams.label_smoothing == 0


def test_a_foreign_class_is_refused_before_it_is_imported(run_cli, tiny_args, trained, capsys):
    with_hyperparameters(trained, "foreign.ckpt", net={"class_path": "this.Anything"})
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--ckpt_path=foreign.ckpt")
    assert "--ckpt_path foreign.ckpt: the checkpoint's hyperparameter model.net" in err
    assert "this" not in sys.modules
    assert "Beautiful is better than ugly" not in capsys.readouterr().out


def test_the_users_own_class_makes_a_checkpoint_with_a_foreign_one_usable(
    run_cli, tiny_args, trained
):
    foreign = {"class_path": "my_package.MyOptimizer", "init_args": {"lr": 0.1}}
    with_hyperparameters(trained, "own.ckpt", optimizer=foreign)
    tested = run_cli(
        "test", *tiny_args, "--ckpt_path=own.ckpt", "--model.optimizer=torch.optim.SGD"
    )
    assert "test/acc" in tested.trainer.callback_metrics


def test_a_file_path_in_a_checkpoint_is_refused_and_never_opened(
    tmp_path, trained, tiny_mirror, tiny_checksums
):
    # Opening a FIFO for reading blocks until a writer comes: a read would hang the command.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with_hyperparameters(trained, str(tmp_path / "path.ckpt"), weights=str(fifo))
    command = [sys.executable, "-m", "fashion_lit", "test", "--ckpt_path=path.ckpt"]
    result = subprocess.run(
        [*command, *tiny_options(tiny_mirror, tiny_checksums)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"the checkpoint's hyperparameter model.weights = '{fifo}' is refused" in result.stderr
