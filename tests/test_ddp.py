"""Training and predicting on two processes with Lightning's DDP (gloo, on the CPU).

Lightning launches the second process itself when the CLI is started as a script, so
``python -m fashion_lit`` runs here as a subprocess, as from a shell. What the two
processes write is compared with what one process measures with the same checkpoint.
"""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fashion_lit.checkpoints import read
from tests.helpers.ddp import PROCESSES, on_two_processes
from tests.helpers.paths import REPO
from tests.helpers.tensorboard import read_events
from tests.helpers.tiny_data import TINY_TEST, TINY_VAL, tiny_options

TIMEOUT_S = 180


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # One thread per process: the two processes share the machine's cores.
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "fashion_lit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def tiny(tiny_mirror, tiny_checksums) -> list[str]:
    return tiny_options(tiny_mirror, tiny_checksums)


@pytest.fixture(scope="module")
def ddp_folder(tiny, tmp_path_factory) -> Path:
    """A folder where ``fit`` ran once on two processes, shared by this file's tests."""
    assert TINY_VAL % PROCESSES == 0  # an even share of the validation images per rank
    folder = tmp_path_factory.mktemp("ddp")
    run_script("fit", *on_two_processes(tiny), cwd=folder)
    return folder


@pytest.fixture
def ddp_run(ddp_folder, monkeypatch) -> Path:
    monkeypatch.chdir(ddp_folder)
    return ddp_folder / "lightning_logs" / "version_0"


def test_two_processes_write_one_run_folder_config_and_set_of_checkpoints(ddp_run):
    assert [p.name for p in ddp_run.parent.iterdir()] == ["version_0"]
    assert (ddp_run / "config.yaml").is_file()
    assert not list(ddp_run.glob("config-resume*.yaml"))
    checkpoints = sorted(p.name for p in (ddp_run / "checkpoints").iterdir())
    assert len(checkpoints) == 3, checkpoints
    assert checkpoints[0] == "best.json" and checkpoints[-1] == "last.ckpt", checkpoints


def test_two_processes_train_the_same_weights_with_the_lean_step_as_with_automatic(
    ddp_run, tiny, tmp_path
):
    run_script("fit", *on_two_processes(tiny), "--model.step=automatic", cwd=tmp_path)
    automatic = read(tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt")
    lean = read(ddp_run / "checkpoints" / "last.ckpt")  # the default, auto: lean
    assert lean.contents["global_step"] == automatic.contents["global_step"] > 0
    for name, tensor in automatic.contents["state_dict"].items():
        assert torch.equal(lean.contents["state_dict"][name], tensor), name


def test_metrics_of_two_processes_equal_one_process_evaluating_the_checkpoint(
    ddp_run, tiny, run_cli
):
    events = read_events(ddp_run)
    logged = {name: events.Scalars(name)[-1].value for name in ("val/acc", "val/loss")}
    single = run_cli("validate", *tiny, "--ckpt_path=last").trainer.callback_metrics
    assert logged["val/acc"] == pytest.approx(single["val/acc"].item(), abs=1e-6)
    assert logged["val/loss"] == pytest.approx(single["val/loss"].item(), rel=1e-5)


def test_two_processes_write_every_prediction_once_in_input_order(ddp_run, tiny, tmp_path):
    output = tmp_path / "predictions.csv"
    run_script(
        "predict",
        *on_two_processes(tiny),
        "--ckpt_path=last",
        f"--prediction.output={output}",
        cwd=ddp_run.parent.parent,
    )
    with open(output, newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["index"]) for row in rows] == list(range(TINY_TEST))
