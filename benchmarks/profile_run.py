"""Where the seconds of a whole run go: ``make fit``'s training command, then a ``test``.

Each command runs in a fresh process, as a user runs it (default thread count and progress
bar), with two additions that time it (``phase_clock.py``): Lightning's ``SimpleProfiler``
(``--trainer.profiler simple``), whose hook totals give the pictures, the checkpoints and
the data check, and a callback that notes when each phase begins. The table splits each
process, start to exit, into:

==============================  ============================================================
Python start and imports        the interpreter, torch, Lightning and fashion_lit's imports
command line                    parsing the options and config, building the objects
                                (and, for ``test``, finding and reading the checkpoint)
data check and reading          ``prepare_data`` (verification) and ``setup`` (reading)
before the first step           model summary, logger (hyperparameters, model graph),
                                moving the model, restoring a checkpoint
sanity check                    Lightning's two validation batches before training
training steps                  the training epochs' batches
validation steps / test steps   evaluation batches, pictures excluded
pictures                        drawing and writing the confusion matrix and the
                                misclassified images (collecting them is in the steps)
epoch ends                      end-of-epoch logging and checkpoints
of which checkpoints            the checkpoint callback's hooks
after the last step             teardown, closing the logger
exit                            the interpreter's shutdown
==============================  ============================================================

The profiler's own bookkeeping adds a little to the hooks it times. Run it with::

    python benchmarks/profile_run.py                        # or: make profile
    python benchmarks/profile_run.py -- --data.eval_batch_size=64   # more options for both

The runs go to a temporary folder, removed afterwards.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parent / "configs" / "quickstart.yaml"
REPORT = "PROFILE "  # phase_clock.py's line of results

PHASES = (
    "Python start and imports",
    "command line",
    "data check and reading",
    "before the first step",
    "sanity check",
    "training steps",
    "validation steps",
    "test steps",
    "pictures",
    "epoch ends",
    "of which checkpoints",
    "after the last step",
    "exit",
)


def profile(arguments: list[str]) -> tuple[dict[str, float], str]:
    """Run ``python -m fashion_lit ARGUMENTS`` through phase_clock.py, start to exit: the
    seconds of each phase, and the machine and versions it ran with."""
    command = [sys.executable, str(HERE / "phase_clock.py"), *arguments]
    launched = time.time()
    done = subprocess.run(command, capture_output=True, text=True)
    exited = time.time()
    if done.returncode != 0:
        failed = f"{' '.join(arguments)} failed (exit {done.returncode})"
        raise SystemExit(f"{failed}:\n{done.stderr[-3000:]}")
    (line,) = [line for line in done.stdout.splitlines() if line.startswith(REPORT)]
    report = json.loads(line[len(REPORT) :])
    ran_on = f"{report.pop('machine')}, {report.pop('versions')}"
    report["Python start and imports"] = report.pop("imported") - launched
    report["exit"] = exited - report.pop("ended")
    report["total"] = exited - launched
    return report, ran_on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("extra", nargs="*", help="more options for fit and test, after --")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fashion_lit-profile-") as runs:
        common = [
            f"--config={args.config}",
            f"--data.data_dir={args.data_dir}",
            f"--trainer.logger.init_args.save_dir={runs}",
            *args.extra,
        ]
        fit, ran_on = profile(["fit", *common])
        test, _ = profile(["test", *common, "--ckpt_path=best"])
    config = os.path.relpath(args.config)
    print(f"python -m fashion_lit fit / test --config {config} {' '.join(args.extra)}")
    print(f"on {ran_on}\n")
    print("| where the time goes | `fit` | `test --ckpt_path best` |")
    print("| --- | --- | --- |")
    for phase in (*PHASES, "total"):
        cells = [f"{side[phase]:.2f} s" if phase in side else "" for side in (fit, test)]
        print(f"| {phase} | {' | '.join(cells)} |")
    print(json.dumps({"fit": rounded(fit), "test": rounded(test)}))


def rounded(seconds: dict[str, float]) -> dict[str, float]:
    return {phase: round(value, 3) for phase, value in seconds.items()}


if __name__ == "__main__":
    main()
