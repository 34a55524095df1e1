"""Checkpoint files are replaced atomically, with their digest: a kill mid-write leaves the
old file intact."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import torch

from fashion_lit.checkpoints import AtomicCheckpointIO, atomic_torch_save, read
from fashion_lit.checkpoints.digest import DIGEST_KEY
from tests.helpers.paths import REPO

# Writes half of the new checkpoint to disk, announces it, and waits to be killed.
KILLED_MID_WRITE = """
import io, sys, time, torch
import fashion_lit.checkpoints.saving as saving

def half_then_hang(path, write):
    buffer = io.BytesIO()
    write(buffer)
    with open(path, "wb") as file:
        file.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    print("HALF WRITTEN", flush=True)
    time.sleep(60)

saving.write_from_memory = half_then_hang
saving.AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.ones(1000)}}, sys.argv[1])
"""


def test_kill_during_a_checkpoint_write_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "checkpoints" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.zeros(1000)}}, target)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_MID_WRITE, str(target)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout.readline().strip() == "HALF WRITTEN"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    assert torch.equal(read(target).contents["state_dict"]["w"], torch.zeros(1000))
    assert [p.name for p in target.parent.glob("*.ckpt")] == ["last.ckpt"]


def test_failed_write_removes_its_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "best.ckpt"

    def fail(obj, file):
        file.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", fail)
    try:
        atomic_torch_save({"w": 1}, target)
    except KeyboardInterrupt:
        pass
    assert list(tmp_path.iterdir()) == []


def test_fit_saves_through_the_atomic_writer_with_digests_and_leaves_no_temporary_files(
    run_cli, tiny_args
):
    cli = run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    folder = Path(cli.trainer.log_dir) / "checkpoints"
    names = sorted(path.name for path in folder.iterdir())
    assert names == ["best.json", names[1], "last.ckpt"] and names[1].startswith("epoch00-")
    for name in names[1:]:  # the best, by ModelCheckpoint; the last, by trainer.save_checkpoint
        assert DIGEST_KEY in torch.load(folder / name, weights_only=True)


def test_last_checkpoint_is_the_last_epoch_when_the_best_is_an_earlier_one(run_cli, tiny_args):
    # A learning rate of 0: val/acc never improves after the first epoch.
    run_cli("fit", *tiny_args, "--model.optimizer.init_args.lr=0")
    folder = Path("lightning_logs/version_0/checkpoints")
    assert read(folder / "last.ckpt").contents["epoch"] == 1
    assert [p.name for p in folder.glob("epoch*.ckpt")][0].startswith("epoch00-")
