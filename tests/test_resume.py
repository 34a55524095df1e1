"""Resuming ``fit``: after a finished run, after Ctrl-C, and after a SIGTERM from outside.

A resumed run must end where an uninterrupted one ends: the same weights, bit for bit,
and the same validation curves in the same run folder.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fashion_lit.checkpoints import read
from fashion_lit.runs import best_checkpoint
from tests.helpers.callbacks import SignalAtBatch, WaitForSignalAtBatch
from tests.helpers.cli import expect_cli_error
from tests.helpers.paths import REPO
from tests.helpers.tiny_data import TINY_TRAIN, TINY_VAL

BATCHES_PER_EPOCH = (TINY_TRAIN - TINY_VAL) // 32
# TensorBoard steps of the validation scalars of a two-epoch run.
EPOCH_END_STEPS = [BATCHES_PER_EPOCH - 1, 2 * BATCHES_PER_EPOCH - 1]
VAL_CURVES = ("val/acc", "val/loss", "val/acc_best")


def callback_option(cls: type, **init_args) -> str:
    args = ", ".join(f"{key}: {value}" for key, value in init_args.items())
    callback = f"{{class_path: {cls.__module__}.{cls.__qualname__}, init_args: {{{args}}}}}"
    return f"--trainer.callbacks=[{callback}]"


def run_folder(version: int) -> Path:
    return Path("lightning_logs") / f"version_{version}"


def val_curves(run: Path) -> dict[str, list[tuple[int, float]]]:
    """The validation scalars TensorBoard shows for ``run``, as (step, value) pairs by step.

    A resumed run has an event file per process, read in the order of their names: two
    written in the same second by one process (as here, in-process) are ordered by a
    counter that sorts as text (``.10`` before ``.9``). TensorBoard plots them by step.
    """
    events = EventAccumulator(str(run))
    events.Reload()
    return {tag: sorted((e.step, e.value) for e in events.Scalars(tag)) for tag in VAL_CURVES}


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert torch.equal(state_a[name], state_b[name]), name


def test_fit_resumed_from_last_equals_an_uninterrupted_fit(run_cli, tiny_args):
    straight = run_cli("fit", *tiny_args, "--trainer.max_epochs=2")
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    resumed = run_cli("fit", *tiny_args, "--trainer.max_epochs=2", "--ckpt_path=last")
    assert resumed.trainer.current_epoch == 2
    assert_same_weights(straight.model, resumed.model)
    curves = val_curves(run_folder(1))
    assert curves == val_curves(run_folder(0))
    assert [step for step, _ in curves["val/acc"]] == EPOCH_END_STEPS


def test_resumed_fit_continues_in_its_run_folder_and_keeps_its_config(run_cli, tiny_args):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    first_config = (run_folder(0) / "config.yaml").read_text()
    resumed = run_cli("fit", *tiny_args, "--trainer.max_epochs=2", "--ckpt_path=last")
    assert Path(resumed.trainer.log_dir) == run_folder(0)
    assert not run_folder(1).exists()
    assert (run_folder(0) / "config.yaml").read_text() == first_config
    assert "max_epochs: 2" in (run_folder(0) / "config-resume-1.yaml").read_text()
    assert read(run_folder(0) / "checkpoints" / "last.ckpt").contents["epoch"] == 1
    run_cli("fit", *tiny_args, "--trainer.max_epochs=3", "--ckpt_path=last")
    assert (run_folder(0) / "config-resume-2.yaml").is_file()


def test_ctrl_c_saves_last_after_the_batch_and_keeps_the_best(run_cli, tiny_args, capsys):
    stop_at = 5
    with pytest.raises(SystemExit) as exit_:
        run_cli(
            "fit",
            *tiny_args,
            callback_option(SignalAtBatch, signum=int(signal.SIGINT), epoch=1, batch=stop_at),
        )
    assert exit_.value.code == 128 + signal.SIGINT
    assert "stopping after the current batch" in capsys.readouterr().err
    folder = run_folder(0) / "checkpoints"
    last = read(folder / "last.ckpt").contents
    assert last["epoch"] == 1 and last["global_step"] == BATCHES_PER_EPOCH + stop_at + 1
    best = [path for path in folder.glob("*.ckpt") if path.name != "last.ckpt"]
    assert [path.name for path in best] == [best_checkpoint(run_folder(0)).name]
    assert read(best[0]).contents["global_step"] == BATCHES_PER_EPOCH


def test_fit_resumed_after_ctrl_c_mid_epoch_equals_an_uninterrupted_fit(run_cli, tiny_args):
    with pytest.raises(SystemExit):
        run_cli(
            "fit",
            *tiny_args,
            callback_option(SignalAtBatch, signum=int(signal.SIGINT), epoch=1, batch=5),
        )
    resumed = run_cli("fit", *tiny_args, "--ckpt_path=last")
    straight = run_cli("fit", *tiny_args)
    assert resumed.trainer.global_step == straight.trainer.global_step == 2 * BATCHES_PER_EPOCH
    assert_same_weights(straight.model, resumed.model)
    assert val_curves(run_folder(0)) == val_curves(run_folder(1))


def test_sigterm_to_a_fit_process_mid_epoch_then_resume_completes_it(run_cli, tiny_args):
    stop_at = 3
    command = [
        sys.executable,
        "-m",
        "fashion_lit",
        "fit",
        *tiny_args,
        callback_option(WaitForSignalAtBatch, epoch=1, batch=stop_at),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            for line in process.stdout:
                if line.startswith("WAITING FOR SIGTERM"):
                    process.send_signal(signal.SIGTERM)
                    break
            _, err = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 128 + signal.SIGTERM, err[-2000:]
    last = read(run_folder(0) / "checkpoints" / "last.ckpt").contents
    assert last["epoch"] == 1 and last["global_step"] == BATCHES_PER_EPOCH + stop_at + 1

    resumed = run_cli("fit", *tiny_args, "--ckpt_path=last")
    assert resumed.trainer.current_epoch == 2
    assert resumed.trainer.global_step == 2 * BATCHES_PER_EPOCH
    curves = val_curves(run_folder(0))
    assert [step for step, _ in curves["val/acc"]] == EPOCH_END_STEPS
    final_val_acc = float(resumed.trainer.callback_metrics["val/acc"])
    assert curves["val/acc"][-1][1] == pytest.approx(final_val_acc)
    assert curves["val/acc_best"][-1][1] == pytest.approx(max(v for _, v in curves["val/acc"]))


def test_resuming_a_one_cycle_run_with_more_epochs_is_refused_before_training(
    run_cli, tiny_args, capsys
):
    tuned = [f"--config={REPO / 'configs' / 'tuned.yaml'}", *tiny_args]
    run_cli("fit", *tuned, "--trainer.max_epochs=1")
    last = run_folder(0) / "checkpoints" / "last.ckpt"
    saved = last.read_bytes()
    err = expect_cli_error(
        run_cli, capsys, "fit", *tuned, "--trainer.max_epochs=2", "--ckpt_path=last"
    )
    assert err.splitlines()[-1] + "\n" == (
        "error: --ckpt_path: the run's learning-rate schedule was planned for 16 steps and "
        "this fit would take 32 (another --trainer.max_epochs, batch size or data set): a "
        "one-cycle schedule cannot be stretched. Resume with the run's own settings, or fit "
        "a new run with the longer schedule.\n"
    )
    assert last.read_bytes() == saved
