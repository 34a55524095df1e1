"""Any Lightning logger, or none: every run keeps its folder, its checkpoints, its pictures
and its config, and continues there after a stop; best/last find it."""

import signal
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from fashion_lit.loggers import RunCSVLogger
from tests.helpers.callbacks import SignalAtBatch
from tests.helpers.tensorboard import read_events

MLFLOW_DB = "sqlite:///mlflow.db"
LOGGERS = {
    "tensorboard": [],
    "csv": [f"--trainer.logger={RunCSVLogger.__module__}.{RunCSVLogger.__qualname__}"],
    "mlflow": [
        "--trainer.logger=lightning.pytorch.loggers.MLFlowLogger",
        f"--trainer.logger.init_args.tracking_uri={MLFLOW_DB}",
        "--trainer.logger.init_args.experiment_name=fashion_lit",
    ],
    "none": ["--trainer.logger=false"],
}


def stop_at(epoch: int, batch: int) -> str:
    path = f"{SignalAtBatch.__module__}.{SignalAtBatch.__qualname__}"
    init = f"signum: {int(signal.SIGTERM)}, epoch: {epoch}, batch: {batch}"
    return f"--trainer.callbacks=[{{class_path: {path}, init_args: {{{init}}}}}]"


@pytest.mark.parametrize("logger", LOGGERS)
def test_fit_stop_resume_test_and_predict_keep_one_run_folder(
    run_cli, tiny_args, workdir, monkeypatch, logger
):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    options = [*tiny_args, *LOGGERS[logger]]
    with pytest.raises(SystemExit) as stopped:
        run_cli("fit", *options, stop_at(epoch=1, batch=2))
    assert stopped.value.code == 128 + signal.SIGTERM
    run = workdir / "lightning_logs" / "version_0"
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "config.yaml").is_file()

    resumed = run_cli("fit", *options, "--ckpt_path=last")
    assert resumed.trainer.current_epoch == 2
    assert (run / "config-resume-1.yaml").is_file()
    tested = run_cli("test", *options, "--ckpt_path=best")
    assert "test/acc" in tested.trainer.callback_metrics
    assert (run / "config-test.yaml").is_file() and (run / "test_confusion_matrix.png").is_file()
    events = sorted(run.glob("events.out.tfevents.*"))
    run_cli("predict", *options, "--ckpt_path=best", "--data.predict_indices=[0, 1]")
    assert (run / "predictions.csv").is_file()
    assert sorted(run.glob("events.out.tfevents.*")) == events  # a predict logs nothing
    assert sorted(p.name for p in (workdir / "lightning_logs").iterdir()) == ["version_0"]
    assert not list(workdir.glob("*.png")) and not (workdir / "checkpoints").exists()

    if logger == "tensorboard":
        assert "test/confusion_matrix" in read_events(run).Tags()["images"]
    if logger == "csv":  # each command of the run keeps its own metrics file
        assert "val/acc" in (run / "metrics.csv").read_text()
        assert "val/acc" in (run / "metrics-1.csv").read_text()
        assert "test/acc" in (run / "metrics-2.csv").read_text()
    if logger == "mlflow":
        client = MlflowClient(MLFLOW_DB)
        (experiment,) = [e for e in client.search_experiments() if e.name == "fashion_lit"]
        runs = client.search_runs([experiment.experiment_id])
        pictures = {a.path for r in runs for a in client.list_artifacts(r.info.run_id, "pictures")}
        assert "pictures/test_confusion_matrix.png" in pictures
        assert any("val/acc" in r.data.metrics for r in runs)


@pytest.mark.parametrize("option", ["--trainer.fast_dev_run=true", "--trainer.logger=false"])
def test_nothing_is_left_loose_in_the_working_folder(run_cli, tiny_args, workdir, option):
    run_cli("fit", *tiny_args, option, "--trainer.max_epochs=1")
    left = {path.name for path in workdir.iterdir()} - {"data"}
    if option.startswith("--trainer.fast_dev_run"):
        assert left == set()  # a fast_dev_run keeps no checkpoint, config or picture
    else:
        assert left == {"lightning_logs"}
        run = workdir / "lightning_logs" / "version_0"
        assert (run / "checkpoints" / "last.ckpt").is_file()
        assert {"config.yaml", "val_confusion_matrix.png"} <= {p.name for p in run.iterdir()}


def test_a_run_of_a_logger_without_run_folders_is_found_by_best(run_cli, tiny_args, workdir):
    """MLflow keeps its runs in its store: fashion_lit's run folder is where TensorBoard's
    would be, under trainer.default_root_dir, and best/last look there."""
    options = [*tiny_args, *LOGGERS["none"], "--trainer.default_root_dir=elsewhere"]
    run_cli("fit", *options, "--trainer.max_epochs=1")
    tested = run_cli("test", *options, "--ckpt_path=best")
    run = Path("elsewhere") / "lightning_logs" / "version_0"
    assert Path(tested.trainer.ckpt_path).parent.parent.resolve() == (workdir / run).resolve()
