"""What the commands print, as a new user sees it in a terminal: no warnings, the
network's layers in a few lines, and at the end what was written, where, from which
checkpoint, and the command to run next — a command that then works as printed."""

import os
import re
import subprocess
import sys

from tests.helpers.paths import REPO

#: What no line of a command's output may hold.
NOISE = re.compile(r"Warning|Tip|deprecat", re.IGNORECASE)


def command(*args: str) -> subprocess.CompletedProcess:
    """``python -m fashion_lit ARGS`` in the working folder, every warning shown."""
    done = subprocess.run(
        [sys.executable, "-m", "fashion_lit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "default"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    noisy = [line for line in (done.stdout + done.stderr).splitlines() if NOISE.search(line)]
    assert not noisy, noisy
    return done


def next_command(output: str, name: str) -> list[str]:
    """The arguments of the ``python -m fashion_lit NAME …`` that ``output`` suggests."""
    line = next(line for line in output.splitlines() if f"python -m fashion_lit {name} " in line)
    return line.split("python -m fashion_lit ", 1)[1].split()


def test_fit_test_predict_and_export_warn_of_nothing_and_say_what_they_wrote(tiny_args):
    one_epoch = [*tiny_args, "--trainer.max_epochs=1", "--trainer.enable_model_summary=true"]

    fit = command("fit", *one_epoch)

    lines = fit.stderr.splitlines()  # Lightning's console, where the summary goes too
    start = lines.index(next(line for line in lines if line.startswith("Network NeuralNetwork:")))
    layers = [line for line in lines[start + 1 :] if line.startswith("  ")]
    assert len(layers) + 1 <= 8 and "669 K trainable parameters" in lines[start]
    assert [line.split()[0] for line in layers] == ["flatten", "linear_relu_stack"]
    assert "[1, 784] → [1, 10]" in layers[1]
    best = next(p for p in os.listdir("lightning_logs/version_0/checkpoints") if "val_acc" in p)
    best_path = f"lightning_logs/version_0/checkpoints/{best}"
    assert "fit: wrote lightning_logs/version_0 (checkpoints/, config.yaml," in fit.stdout
    assert f"  best checkpoint: {best_path} (val/acc 0." in fit.stdout
    assert next_command(fit.stdout, "test") == [
        "test",
        "--config",
        "lightning_logs/version_0/config.yaml",
        "--ckpt_path",
        best_path,
    ]
    assert next_command(fit.stdout, "serve") == ["serve", "--ckpt_path", best_path]

    test = command(*next_command(fit.stdout, "test"))  # as printed: the config has the data

    assert "test/acc" in test.stdout
    assert "test: wrote lightning_logs/version_0 (" in test.stdout
    assert "config-test.yaml, config.yaml, " in test.stdout
    assert test.stdout.rstrip().endswith(
        f"from {best_path}\n  next: python -m fashion_lit serve --ckpt_path {best_path}"
    )

    config = "lightning_logs/version_0/config.yaml"
    predict = command(
        "predict", "--config", config, "--ckpt_path", "best", "--data.predict_indices", "0,3"
    )

    assert predict.stdout.count("Predicted: ") == 2
    assert f"predict: from {best_path}\n" in predict.stdout

    export = command("export", "--ckpt_path", "best", "--output_dir", "exported")

    assert export.stdout.splitlines() == [
        f"export: read {best_path}",
        "Wrote exported/model.pth (the tutorial's state_dict) and exported/model.pt2 "
        "(torch.export)",
        "  next: python -m fashion_lit serve --ckpt_path exported/model.pth",
    ]
