"""Training speed: the plain tutorial loop against fashion_lit's ``fit``, side by side.

Both train the tutorial's network with the quickstart's settings (batch 64, SGD lr 1e-3)
on the same machine, interleaved (tutorial, fashion_lit, tutorial, …) so that both see
the same conditions, and the script prints the median time of a training epoch of each
and their ratio. Validation, checkpointing and start-up are not part of an epoch's time
(the tutorial's ``train()`` has none of them); ``--whole`` also times whole processes,
``fit`` plus ``test``, from start to exit. Run it with::

    python benchmarks/speed.py                        # or: make bench
    python benchmarks/speed.py --accelerator cuda --repeats 3
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import lightning
import torch
from lightning.pytorch import Callback
from tutorial_loop import run as run_tutorial_loop

from fashion_lit.cli import cli_main


class TrainEpochTimer(Callback):
    """Seconds spent in each training epoch's batches, validation excluded."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start: float | None = None

    def _now(self, trainer) -> float:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = self._now(trainer)

    def _stop(self, trainer) -> None:
        if self._start is not None:
            self.seconds.append(self._now(trainer) - self._start)
            self._start = None

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._stop(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._stop(trainer)


def fashion_lit_epochs(args: argparse.Namespace, extra: list[str]) -> list[float]:
    timer = TrainEpochTimer()
    cli = cli_main(
        [
            "--config=configs/quickstart.yaml",
            f"--data.data_dir={args.data_dir}",
            f"--trainer.max_epochs={args.epochs}",
            f"--trainer.accelerator={args.accelerator}",
            "--trainer.logger.init_args.save_dir=lightning_logs/bench",
            *extra,
        ],
        run=False,
    )
    cli.trainer.callbacks.append(timer)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return timer.seconds


def whole_process_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--whole", action="store_true", help="also time whole 5-epoch processes")
    parser.add_argument(
        "extra", nargs="*", help="extra fashion_lit options, e.g. --data.resident=false"
    )
    args = parser.parse_args()
    device = "cuda" if args.accelerator == "cuda" else "cpu"

    tutorial, lit = [], []
    for _ in range(args.repeats):
        tutorial += run_tutorial_loop(args.data_dir, args.epochs, 0, device)["epoch_seconds"]
        lit += fashion_lit_epochs(args, args.extra)
    result = {
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads"
        + (f", {torch.cuda.get_device_name()}" if device == "cuda" else ""),
        "versions": f"torch {torch.__version__}, lightning {lightning.__version__}",
        "extra": args.extra,
        "tutorial_epoch_median_s": round(statistics.median(tutorial), 3),
        "fashion_lit_epoch_median_s": round(statistics.median(lit), 3),
        "ratio": round(statistics.median(lit) / statistics.median(tutorial), 3),
        "tutorial_epochs_s": [round(s, 3) for s in tutorial],
        "fashion_lit_epochs_s": [round(s, 3) for s in lit],
    }
    if args.whole:
        here = Path(__file__).parent
        lit_cmd = [sys.executable, "-m", "fashion_lit"]
        common = [
            "--config=configs/quickstart.yaml",
            f"--data.data_dir={args.data_dir}",
            f"--trainer.accelerator={args.accelerator}",
            "--trainer.enable_progress_bar=false",
            "--trainer.logger.init_args.save_dir=lightning_logs/bench",
            *args.extra,
        ]
        result["tutorial_process_s"] = round(
            whole_process_seconds(
                [
                    sys.executable,
                    str(here / "tutorial_loop.py"),
                    "--data-dir",
                    args.data_dir,
                    "--epochs",
                    "5",
                    "--device",
                    device,
                ]
            ),
            2,
        )
        start = time.perf_counter()
        subprocess.run([*lit_cmd, "fit", *common], check=True, capture_output=True)
        subprocess.run(
            [*lit_cmd, "test", *common, "--ckpt_path=last"], check=True, capture_output=True
        )
        result["fashion_lit_fit_test_process_s"] = round(time.perf_counter() - start, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
