"""What a run shows in TensorBoard, read back with TensorBoard's own tools."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch
import yaml

from tests.helpers.tensorboard import hparams_session, read_events

RUN = Path("lightning_logs") / "version_0"


@pytest.fixture
def fitted(run_cli, tiny_args):
    return run_cli("fit", *tiny_args)


def test_epoch_curves_learning_rate_and_best_accuracy_are_logged(fitted):
    tags = set(read_events(RUN).Tags()["scalars"])
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "val/acc_best", "train/lr"} <= tags
    assert "hp_metric" not in tags


def test_train_and_validation_curves_share_the_epoch_steps(fitted):
    events = read_events(RUN)
    train_steps = [e.step for e in events.Scalars("train/loss")]
    val_steps = [e.step for e in events.Scalars("val/loss")]
    assert len(train_steps) == 2 and train_steps == val_steps


def test_hparams_tab_holds_the_real_hyperparameters_and_metric_names(fitted):
    session, experiment = hparams_session(read_events(RUN))
    assert session.hparams["batch_size"].number_value == 32
    assert session.hparams["optimizer/init_args/lr"].number_value == pytest.approx(1e-3)
    assert session.hparams["shuffle"].bool_value is True  # a boolean, not 1.0000
    assert session.hparams["compile"].HasField("bool_value")
    metric_names = {m.name.tag for m in experiment.metric_infos}
    assert {"val/acc_best", "test/acc"} <= metric_names


def test_hparams_yaml_holds_the_models_and_the_splits_settings_only(fitted):
    recorded = yaml.safe_load((RUN / "hparams.yaml").read_text())

    model = {"optimizer", "num_classes", "lr_scheduler", "label_smoothing", "compile"}
    assert model <= set(recorded)
    data = {"batch_size": 32, "val_size": 128, "split_seed": 42, "shuffle": True}
    assert {key: recorded[key] for key in data} == data
    assert not [key for key in recorded if key.startswith("_")]
    assert not {"data_dir", "download", "checksums", "sources", "predict_paths"} & set(recorded)
    assert "/" not in yaml.safe_dump(recorded).replace("torch.optim", "")


def test_best_validation_accuracy_in_tensorboard_is_the_checkpoints(fitted):
    best = read_events(RUN).Scalars("val/acc_best")[-1].value
    assert best == pytest.approx(float(fitted.trainer.checkpoint_callback.best_model_score))


def test_the_model_graph_is_drawn_only_on_request(fitted, run_cli, tiny_args):
    assert not read_events(RUN).Tags()["graph"]  # its torch.jit trace warns on every command

    run_cli(
        "fit", *tiny_args, "--trainer.max_epochs=1", "--trainer.logger.init_args.log_graph=true"
    )

    assert read_events(Path("lightning_logs") / "version_1").Tags()["graph"]


def test_confusion_matrix_and_misclassified_images_each_validation(fitted):
    images = read_events(RUN).Tags()["images"]
    assert {"val/confusion_matrix", "val/misclassified"} <= set(images)
    assert len(read_events(RUN).Images("val/confusion_matrix")) == 2
    assert (RUN / "val_confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (RUN / "val_misclassified.png").is_file()


def test_test_from_a_checkpoint_adds_to_the_run_it_evaluates(fitted, run_cli, tiny_args):
    tested = run_cli("test", *tiny_args, "--ckpt_path=best")
    assert sorted(p.name for p in Path("lightning_logs").iterdir()) == ["version_0"]
    events = read_events(RUN)
    assert events.Scalars("test/acc")[-1].value == pytest.approx(
        float(tested.trainer.callback_metrics["test/acc"])
    )
    # At the tested checkpoint's step, beside the curves it ends, not at step 0.
    best = torch.load(fitted.trainer.checkpoint_callback.best_model_path, weights_only=True)
    assert events.Scalars("test/acc")[-1].step == best["global_step"] > 0
    assert {"test/confusion_matrix", "test/misclassified"} <= set(events.Tags()["images"])
    assert (RUN / "test_confusion_matrix.png").is_file()
    assert (RUN / "config.yaml").is_file() and (RUN / "config-test.yaml").is_file()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tensorboard_server_lists_the_run(fitted):
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            "lightning_logs",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, runs = time.monotonic() + 60, None
        while time.monotonic() < deadline and not runs:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/data/runs", timeout=5
                ) as reply:
                    runs = json.load(reply)
            except OSError:
                time.sleep(0.5)
        assert runs is not None and "version_0" in runs
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=5
        ) as reply:
            assert "val/acc" in json.load(reply)["version_0"]
    finally:
        server.terminate()
        server.wait(timeout=30)
