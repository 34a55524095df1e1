"""A full disk ends ``fit`` and ``export`` with a plain error: exit status 2, the file that
could not be written, the space left and what to do. Files that were there before are
left as they were, and no temporary file remains.

Each command runs in a process of its own on a small tmpfs (see
:func:`tests.helpers.processes.run_on_tmpfs`), with the data and the checkpoint it reads
on another disk. The sizes are chosen for where the disk fills: TensorBoard's event
writer (a thread of its own, writing the model graph) right after the run's
``config.yaml`` and ``hparams.yaml`` (one 4 kB page each); a checkpoint (2.7 MB) after
TensorBoard's log and the pictures of the sanity check; ``model.pt2`` after ``model.pth``.
"""

import json
import sys
from pathlib import Path

import pytest

from tests.helpers.processes import run_on_tmpfs
from tests.helpers.serve import untrained_model
from tests.helpers.tiny_data import tiny_options

#: Writes the files of argv[2] (JSON: name → text) into the folder argv[1], runs the
#: command argv[3:] there, and prints what it did and every file left in the folder.
RUN_AND_LIST = """
import json, os, subprocess, sys
disk, before, command = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
for name, text in before.items():
    os.makedirs(os.path.dirname(os.path.join(disk, name)), exist_ok=True)
    with open(os.path.join(disk, name), "w") as file:
        file.write(text)
done = subprocess.run(command, cwd=disk, capture_output=True, text=True, timeout=300)
after = {}
for folder, _, names in os.walk(disk):
    for name in names:
        with open(os.path.join(folder, name), "rb") as file:
            after[os.path.relpath(file.name, disk)] = file.read().decode("latin-1")
print(json.dumps({"status": done.returncode, "stderr": done.stderr, "after": after}))
"""

#: A run that was there before, on the disk that fills.
EARLIER_RUN = {"lightning_logs/version_0/checkpoints/last.ckpt": "an earlier run's\n"}

NO_SPACE = ": No space left on device; "
ADVICE = "Free some space there, or write to another disk."


def run_on_a_full_disk(folder: Path, size: str, before: dict, command: list[str]) -> dict:
    disk = folder / "disk"
    disk.mkdir()
    listing = [sys.executable, "-c", RUN_AND_LIST, str(disk), json.dumps(before)]
    done = run_on_tmpfs(disk, f"size={size}", listing + command)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def fit_on_a_full_disk(folder: Path, size: str, mirror: Path, checksums: Path) -> dict:
    fit = [sys.executable, "-m", "fashion_lit", "fit", *tiny_options(mirror, checksums)]
    # With the graph on, TensorBoard's first write (the graph) is the one that fills the disk.
    options = [
        f"--data.data_dir={folder / 'data'}",
        "--trainer.max_epochs=1",
        "--trainer.logger.init_args.log_graph=true",
    ]
    return run_on_a_full_disk(folder, size, EARLIER_RUN, fit + options)


def error_line(outcome: dict) -> str:
    """The command's error: the line that starts with ``error:``, of which there is one."""
    (line,) = (line for line in outcome["stderr"].splitlines() if line.startswith("error: "))
    return line


@pytest.fixture(scope="module")
def tensorboard_fills_it(tmp_path_factory, tiny_mirror, tiny_checksums) -> dict:
    folder = tmp_path_factory.mktemp("tensorboard")
    return fit_on_a_full_disk(folder, "12k", tiny_mirror, tiny_checksums)


def test_a_disk_filled_by_tensorboards_writer_ends_fit_with_the_plain_error(tensorboard_fills_it):
    outcome = tensorboard_fills_it
    assert outcome["status"] == 2, outcome["stderr"][-3000:]
    line = error_line(outcome)
    assert line.startswith("error: Cannot write ./lightning_logs/version_1/events.out.tfevents.")
    assert NO_SPACE in line and line.endswith(f"free in lightning_logs. {ADVICE}")
    assert outcome["after"] == EARLIER_RUN  # the new run's folder is gone


def test_a_disk_filled_by_tensorboards_writer_prints_no_traceback(tensorboard_fills_it):
    assert "Traceback" not in tensorboard_fills_it["stderr"]


def test_a_disk_filled_by_a_checkpoint_ends_fit_with_the_plain_error(
    tmp_path, tiny_mirror, tiny_checksums
):
    outcome = fit_on_a_full_disk(tmp_path, "1m", tiny_mirror, tiny_checksums)
    assert outcome["status"] == 2, outcome["stderr"][-3000:]
    line = error_line(outcome)
    assert line.startswith("error: Cannot write lightning_logs/version_1/checkpoints/epoch00-")
    assert NO_SPACE in line and line.endswith(ADVICE)
    assert "Traceback" not in outcome["stderr"]
    assert outcome["after"] == EARLIER_RUN


def test_a_full_disk_ends_export_with_the_plain_error_and_keeps_the_old_files(tmp_path):
    model = untrained_model(tmp_path / "model.pth")
    before = {"out/model.pth": "the old state_dict\n", "out/model.pt2": "the old program\n"}
    export = [sys.executable, "-m", "fashion_lit", "export", f"--ckpt_path={model}"]
    options = ["--output_dir=out", "--overwrite=true"]
    # Room for the new model.pth (2.7 MB), not for model.pt2 besides.
    outcome = run_on_a_full_disk(tmp_path, "4m", before, export + options)
    assert outcome["status"] == 2, outcome["stderr"][-3000:]
    line = error_line(outcome)
    assert line.startswith(f"error: Cannot write out/model.pt2{NO_SPACE}")
    assert line.endswith(f"free in out. {ADVICE}")
    assert "Traceback" not in outcome["stderr"]
    assert outcome["after"] == before
