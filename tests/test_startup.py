"""What a command needs at start-up: packages it does not use are never imported."""

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import REPO

UNINSTALLED = Path(__file__).parent / "helpers" / "uninstalled"


def test_fit_writes_every_picture_without_torchvision_or_matplotlib(tiny_args, workdir):
    """Reading the data, training, the pictures and the CLI need neither package:
    torchvision is for the tutorial's own loop and tests, matplotlib for nothing."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(UNINSTALLED), str(REPO)]),
        "FASHION_LIT_UNINSTALLED": "torchvision,matplotlib",
    }
    command = [sys.executable, "-m", "fashion_lit", "fit", *tiny_args, "--trainer.max_epochs=1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    run = workdir / "lightning_logs" / "version_0"
    assert (run / "val_confusion_matrix.png").is_file()
    assert (run / "val_misclassified.png").is_file()


def test_the_uninstalled_packages_cannot_be_imported(workdir):
    env = {
        **os.environ,
        "PYTHONPATH": str(UNINSTALLED),
        "FASHION_LIT_UNINSTALLED": "torchvision",
    }
    command = [sys.executable, "-c", "import torchvision"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "No module named 'torchvision'" in done.stderr
