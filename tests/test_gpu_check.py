"""``make gpu-check`` on a machine without a GPU: it says so and stops, before any work."""

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
