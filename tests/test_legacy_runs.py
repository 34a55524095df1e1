"""What earlier versions of fashion_lit wrote still works: run configs, best.json, checkpoints.

The files in ``tests/helpers/legacy/`` were written by fashion_lit before its run folders,
loggers and callbacks moved to the modules they live in now.
"""

import json
import shutil

import torch

from fashion_lit.checkpoints.digest import DIGEST_KEY
from fashion_lit.runs import best_checkpoint
from tests.helpers.paths import REPO

LEGACY = REPO / "tests" / "helpers" / "legacy"


def test_a_config_written_before_works_with_every_command(run_cli, tiny_args, workdir):
    written = (LEGACY / "config.yaml").read_text()
    assert "class_path: fashion_lit.logger.RunLogger" in written and "weights: null" in written
    config = f"--config={LEGACY / 'config.yaml'}"
    run_cli("fit", config, *tiny_args, "--trainer.max_epochs=1")
    tested = run_cli("test", config, *tiny_args, "--ckpt_path=best")
    assert 0 <= float(tested.trainer.callback_metrics["test/acc"]) <= 1
    run_cli("predict", config, *tiny_args, "--ckpt_path=last", "--data.predict_indices=[0]")
    assert (workdir / "lightning_logs" / "version_0" / "predictions.csv").is_file()
    run_cli("export", config, "--ckpt_path=best", "--output_dir=exported")
    assert (workdir / "exported" / "model.pth").is_file()


def test_a_best_json_written_before_still_names_the_best(tmp_path):
    checkpoints = tmp_path / "version_0" / "checkpoints"
    checkpoints.mkdir(parents=True)
    shutil.copy(LEGACY / "best.json", checkpoints / "best.json")
    for name in ("epoch00-val_acc0.0920.ckpt", "epoch01-val_acc0.0800.ckpt", "last.ckpt"):
        (checkpoints / name).touch()
    assert best_checkpoint(tmp_path / "version_0").name == "epoch00-val_acc0.0920.ckpt"


def test_a_checkpoint_of_the_earlier_layout_is_tested_resumed_and_exported(
    run_cli, tiny_args, workdir
):
    """A checkpoint as fashion_lit wrote them before: no digest, no network recorded (the
    tutorial's then): the same keys, callback states, hyperparameters and weights as
    ``legacy/checkpoint-layout.json`` records of a real one."""
    expected = json.loads((LEGACY / "checkpoint-layout.json").read_text())
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    last = workdir / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"
    legacy = torch.load(last, weights_only=True)
    del legacy[DIGEST_KEY], legacy["hyper_parameters"]["net"]  # what is new since
    legacy["hyper_parameters"]["_instantiator"] = "lightning.pytorch.cli.instantiate_module"
    del legacy["hyper_parameters"]["step"]
    assert sorted(legacy) == expected["keys"]
    assert sorted(legacy["callbacks"]) == expected["callbacks"]
    assert sorted(legacy["hyper_parameters"]) == expected["hyper_parameters"]
    shapes = {key: list(value.shape) for key, value in legacy["state_dict"].items()}
    assert shapes == expected["state_dict"]
    torch.save(legacy, "legacy.ckpt")

    tested = run_cli("test", *tiny_args, "--ckpt_path=legacy.ckpt")
    assert 0 <= float(tested.trainer.callback_metrics["test/acc"]) <= 1
    resumed = run_cli("fit", *tiny_args, "--ckpt_path=legacy.ckpt", "--trainer.max_epochs=2")
    assert resumed.trainer.current_epoch == 2
    run_cli("export", "--ckpt_path=legacy.ckpt", "--output_dir=exported")
    assert (workdir / "exported" / "model.pt2").is_file()
