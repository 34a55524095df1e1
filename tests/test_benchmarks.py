"""The speed benchmark and the run profile: their command lines, and real runs on tiny data."""

import json
import os
import subprocess
import sys

import pytest
import torch

from tests.helpers.paths import REPO
from tests.helpers.tiny_data import TINY_TEST, TINY_TRAIN, TINY_VAL, tiny_images

BENCHMARKS = REPO / "benchmarks"


@pytest.fixture
def speed(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import speed

    return speed


def run_script(*command: str) -> tuple[dict, str]:
    """Run a benchmark script here; its JSON (last line) and the rest of its output."""
    done = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    *text, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(text)


def test_speed_variants_are_named_sets_of_options(speed):
    args = speed.parse_arguments(
        ["whole", "--variant", "eager=", "--variant", "graph=--model.x=true --data.y 2"]
    )
    assert args.variant == [("eager", []), ("graph", ["--model.x=true", "--data.y", "2"])]


def test_speed_without_variants_times_fashion_lit_as_it_is(speed):
    assert speed.parse_arguments(["epochs"]).variant == [("default", [])]


def test_speed_accepts_the_accelerator_and_repeats_in_both_modes(speed):
    for mode in ("whole", "epochs"):
        args = speed.parse_arguments([mode, "--accelerator", "cuda", "--repeats", "3"])
        assert (args.mode, args.accelerator, args.repeats) == (mode, "cuda", 3)
    assert speed.parse_arguments(["epochs", "--epochs", "4"]).epochs == 4
    assert speed.parse_arguments(["epochs", "--without-tutorial"]).without_tutorial


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["whole", "--variant=--model.x=true"], "is not NAME=OPTIONS"),
        (["whole", "--variant", "eager"], "is not NAME=OPTIONS"),
        (["whole", "--variant", "a=", "--variant", "a=--x=1"], "each name once"),
        (["whole", "--epochs", "3"], "unrecognized arguments: --epochs"),
        (["whole", "--accelerator", "tpu"], "invalid choice: 'tpu'"),
    ],
)
def test_speed_refuses_bad_arguments_by_name(speed, capsys, arguments, message):
    with pytest.raises(SystemExit) as exit_:
        speed.parse_arguments(arguments)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_speed_whole_times_processes_and_reports_the_felt_epoch(tiny_data, workdir):
    data_dir, options = tiny_data
    result, table = run_script(
        str(BENCHMARKS / "speed.py"),
        "whole",
        "--repeats=1",
        f"--data-dir={data_dir}",
        f"--variant=tiny={options}",
    )
    tutorial, tiny = result["sides"]["tutorial loop"], result["sides"]["tiny"]
    for side in (tutorial, tiny):
        assert 0 < side["1_epochs_s"] and 0 < side["3_epochs_s"] and 0 < side["5_epochs_s"]
        assert side["felt_epoch_s"] == pytest.approx(
            (side["3_epochs_s"] - side["1_epochs_s"]) / 2, abs=2e-3
        )
    assert tiny["whole_s"] == tiny["5_epochs_s"]  # with --test_after_fit true
    # Checked as a product: on tiny data a felt epoch is the difference of two noisy
    # process times, near zero, and the JSON rounds each figure to 1 ms (or 0.001×).
    ratio = tiny["felt_epoch_ratio"]
    assert ratio * tutorial["felt_epoch_s"] == pytest.approx(
        tiny["felt_epoch_s"], abs=1e-3 * (abs(ratio) + abs(tutorial["felt_epoch_s"]) + 1)
    )
    assert "| plain tutorial loop" in table and "| fashion_lit `fit` (tiny)" in table
    assert result["machine"] in table
    assert not (workdir / "lightning_logs").exists()  # the runs went to a temporary folder


def test_speed_epochs_times_the_training_epochs_of_each_side(speed, tiny_data, capsys):
    data_dir, options = tiny_data
    result = speed.main(
        ["epochs", "--repeats=1", "--epochs=2", f"--data-dir={data_dir}", f"--variant=a={options}"]
    )
    sides = result["sides"]
    assert [len(sides[name]["epochs_s"]) for name in ("tutorial loop", "floor", "a")] == [2, 2, 2]
    assert sides["floor"]["floor_ratio"] == 1
    assert sides["a"]["floor_ratio"] == pytest.approx(
        sides["a"]["epoch_median_s"] / sides["floor"]["epoch_median_s"]
    )
    table = capsys.readouterr().out
    assert "| fashion_lit `fit` (a) |" in table and "| floor: plain PyTorch loop" in table


def test_speed_epochs_without_the_tutorial_puts_the_step_modes_beside_the_floor(
    speed, tiny_data, capsys
):
    data_dir, options = tiny_data
    variants = [f"--variant={mode}=--model.step={mode} {options}" for mode in ("automatic", "lean")]
    args = ["epochs", "--repeats=1", "--epochs=1", "--without-tutorial", f"--data-dir={data_dir}"]
    sides = speed.main([*args, *variants])["sides"]
    assert list(sides) == ["floor", "automatic", "lean"]
    assert all(side["ratio"] is None and side["floor_ratio"] > 0 for side in sides.values())
    assert "| fashion_lit `fit` (lean) | " in capsys.readouterr().out


def test_step_overhead_puts_bare_lightning_and_the_lean_fit_beside_the_floor(
    monkeypatch, tiny_data, capsys
):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import step_overhead

    data_dir, options = tiny_data
    result = step_overhead.main(["--repeats=1", f"--data-dir={data_dir}", f"--options={options}"])
    sides = result["sides"]
    assert list(sides) == ["floor", "bare Lightning", "fashion_lit lean"]
    assert result["steps"] == -(-(TINY_TRAIN - TINY_VAL) // 64)  # the quickstart's batch size
    assert sides["floor"]["us_per_step_above_floor"] == 0
    lean = sides["fashion_lit lean"]
    assert lean["us_per_step_above_floor"] == pytest.approx(
        (lean["epoch_median_s"] - sides["floor"]["epoch_median_s"]) / result["steps"] * 1e6
    )
    assert "| fashion_lit lean | " in capsys.readouterr().out
    with pytest.raises(SystemExit):
        step_overhead.parse_arguments(["--threads=0"])


def test_profile_accounts_for_every_second_of_fit_and_test(tiny_data):
    data_dir, options = tiny_data
    result, table = run_script(
        str(BENCHMARKS / "profile_run.py"),
        f"--data-dir={data_dir}",
        "--",
        *options.split(),
        "--trainer.max_epochs=2",
    )
    fit, test = result["fit"], result["test"]
    for side in (fit, test):
        assert all(seconds >= 0 for seconds in side.values())
        within = ("total", "of which checkpoints")
        parts = [seconds for phase, seconds in side.items() if phase not in within]
        assert sum(parts) == pytest.approx(side["total"], abs=0.01)
    assert fit["training steps"] > 0 and fit["validation steps"] > 0 and fit["pictures"] > 0
    assert fit["of which checkpoints"] > 0 and fit["sanity check"] > 0
    assert test["test steps"] > 0 and test["pictures"] > 0 and "training steps" not in test
    assert "| pictures |" in table and "| total |" in table


def test_parity_reads_the_data_dir_on_both_sides_and_matches_the_tutorial_loop(tiny_data):
    data_dir, options = tiny_data
    config = str(REPO / "configs" / "parity.yaml")
    result, _ = run_script(
        str(BENCHMARKS / "parity.py"),
        f"--config={config}",
        f"--data-dir={data_dir}",
        "--epochs=1",
        "--",
        *options.replace(f"--data.val_size={TINY_VAL}", "").split(),
    )
    assert result["tutorial_loop_test_acc"] == result["fashion_lit_test_acc"]
    assert result["difference_points"] == 0


def test_the_readme_picture_is_drawn_from_a_test_image(tiny_data, tmp_path):
    from fashion_lit.images import load_image

    data_dir, _ = tiny_data
    output = tmp_path / "boot.png"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "docs" / "example_image.py"),
            f"--data-dir={data_dir}",
            f"--output={output}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    test_image = torch.from_numpy(tiny_images(TINY_TEST, seed=2)[0][0]).float() / 255
    assert (load_image(output)[0] - test_image).abs().mean() < 0.05


def test_startup_times_the_help_the_parser_lightning_and_serve_and_judges_the_help(tmp_path):
    figures = tmp_path / "startup.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/startup.py", "--rounds", "1", "--output", str(figures)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )

    assert done.returncode == 0, done.stderr
    medians = json.loads(figures.read_text())["medians_s"]
    assert set(medians) == {
        "python -m fashion_lit --help",
        "python -m fashion_lit fit --help",
        'python -c "import lightning.pytorch"',
        "serve until /health answers",
    }
    assert all(seconds > 0 for seconds in medians.values())
    assert (
        "Top-level --help: " in done.stdout
        and "the import of Lightning (goal ≤ 0.3×" in done.stdout
    )
