"""``make gpu-check`` on a machine without a GPU: it says so and stops, before any work;
and the same script with ``--device cpu`` on tiny data, to check what it runs and reports."""

import json
import os
import subprocess
import sys

import pytest
import torch

from tests.helpers.paths import REPO


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_check_without_a_gpu_says_so_and_stops(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--out", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "No CUDA GPU is visible: gpu-check needs one." in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_gpu_check_help_names_its_options():
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "--out" in result.stdout and "--epochs" in result.stdout and "--repeats" in result.stdout


def test_gpu_check_on_the_cpu_times_import_the_quickstart_and_epochs(tiny_data, tmp_path):
    data_dir, options = tiny_data
    out = tmp_path / "check"
    command = [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--device=cpu"]
    command += [f"--out={out}", f"--data-dir={data_dir}", "--repeats=1", "--epochs=1"]
    command += ["--modes", "lean", "--", *options.split()]
    command.append("--trainer.max_epochs=1")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["import"]["status"] == 0 and report["import"]["median_s"] > 0
    quickstart = report["quickstart"]["lean"]
    assert quickstart["status"] == 0 and 0 < quickstart["test_acc"] <= 1
    assert quickstart["over_import_s"] < quickstart["median_s"]
    assert list(report["speed"]["epoch_median_s"]) == ["tutorial loop", "floor", "lean"]
    assert "| --model.step lean |" in result.stdout and "T_import" in result.stdout
