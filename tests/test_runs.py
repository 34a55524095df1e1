"""Run folders: every fit gets its own, however many start at once, and a failed command
removes only the folder it created."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fashion_lit.runs import claim_run, config_file_name, logger_options
from tests.helpers.callbacks import FailAtBatch
from tests.helpers.paths import REPO
from tests.helpers.tiny_data import tiny_options

#: A fit that imports everything first, says it is ready, then waits for the barrier.
FIT_AT_BARRIER = """
import sys, time
from pathlib import Path
from fashion_lit.cli import cli_main
ready, release = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not release.exists():
    time.sleep(0.005)
cli_main(sys.argv[3:])
"""
FITS = 8


def fits_released_together(folder: Path, options: list[str]) -> list[subprocess.CompletedProcess]:
    """Start ``FITS`` fit processes in ``folder``, release them at once, wait for all."""
    release = folder / "release"
    children = []
    for i in range(FITS):
        command = [sys.executable, "-c", FIT_AT_BARRIER, str(folder / f"ready{i}"), str(release)]
        children.append(
            subprocess.Popen(
                [*command, "fit", *options],
                cwd=folder,
                env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + 240
    while not all((folder / f"ready{i}").exists() for i in range(FITS)):
        assert time.monotonic() < deadline and all(c.poll() is None for c in children)
        time.sleep(0.05)
    release.touch()
    done = []
    for child in children:
        out, err = child.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return done


def test_eight_fits_released_together_from_a_fresh_data_folder_each_get_their_own_run(
    tiny_mirror, tiny_checksums, tmp_path
):
    options = [
        *tiny_options(tiny_mirror, tiny_checksums),
        "--data.data_dir=fresh-data",
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=2",
        "--trainer.limit_val_batches=1",
    ]
    done = fits_released_together(tmp_path, options)
    assert [d.returncode for d in done] == [0] * FITS, [d.stderr[-2000:] for d in done]
    runs = sorted((tmp_path / "lightning_logs").iterdir())
    assert [run.name for run in runs] == sorted(f"version_{n}" for n in range(FITS))
    for run in runs:
        assert (run / "config.yaml").is_file()
        assert (run / "checkpoints" / "last.ckpt").is_file()
        assert (run / "checkpoints" / "best.json").is_file()


def test_claiming_takes_the_next_free_version_and_never_one_that_exists(tmp_path):
    (tmp_path / "version_3").mkdir()
    first, created_first = claim_run(tmp_path)
    second, created_second = claim_run(tmp_path)
    assert (first.name, second.name) == ("version_4", "version_5")
    assert (created_first, created_second) == (first, second)


def test_a_named_run_is_created_once_with_its_missing_parents_and_then_reused(tmp_path):
    study = tmp_path / "runs" / "study"
    assert claim_run(study, "trial_0") == (study / "trial_0", tmp_path / "runs")
    assert claim_run(study, "trial_0") == (study / "trial_0", None)


def test_a_resumed_fit_and_an_evaluation_save_their_config_beside_the_runs(tmp_path):
    (tmp_path / "config-resume-1.yaml").touch()
    assert config_file_name(tmp_path, "fit") == "config-resume-2.yaml"
    assert config_file_name(tmp_path, "test") == "config-test.yaml"


def test_logger_options_put_a_run_in_the_folder_given(tmp_path):
    assert logger_options(tmp_path / "study" / "trial_2") == {
        "trainer.logger.init_args.save_dir": str(tmp_path),
        "trainer.logger.init_args.name": "study",
        "trainer.logger.init_args.version": "trial_2",
    }


def test_a_failed_fit_removes_its_own_run_and_no_other(run_cli, tiny_args, workdir):
    other = workdir / "lightning_logs" / "version_0"
    (other / "checkpoints").mkdir(parents=True)
    (other / "events.out.tfevents.x").write_text("another run's")
    crash = f"{FailAtBatch.__module__}.{FailAtBatch.__qualname__}"
    with pytest.raises(RuntimeError, match="a crash in training"):
        run_cli("fit", *tiny_args, f"--trainer.callbacks=[{{class_path: {crash}}}]")
    assert sorted(p.name for p in (workdir / "lightning_logs").iterdir()) == ["version_0"]
    assert (other / "events.out.tfevents.x").read_text() == "another run's"


def test_fit_again_from_a_runs_saved_config_starts_a_new_run(run_cli, tiny_args, workdir):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    saved = workdir / "lightning_logs" / "version_0" / "config.yaml"
    assert "version: null" in saved.read_text()  # the claimed folder is not written into it
    run_cli("fit", f"--config={saved}", "--trainer.max_epochs=1")
    assert (workdir / "lightning_logs" / "version_1" / "config.yaml").is_file()
