"""Speed as a user feels it: fashion_lit beside the plain tutorial loop, on the same device.

Two modes, each interleaved (the tutorial loop, then every fashion_lit variant, then the
tutorial loop again, ...) so that all sides see the same conditions, and repeated:
every figure is a median.

``whole``: whole processes, start to exit, as a user runs them — the default thread
count, the default progress bar, the data already acquired and verified (``make bench``
runs ``make data`` first). fashion_lit runs
``python -m fashion_lit fit --config configs/quickstart.yaml --trainer.max_epochs N`` for
N = 1, 3 and 5, the 5-epoch fit with ``--test_after_fit true`` (the quickstart as one
command, as ``make fit`` runs it: its best checkpoint tested in the same process); the
tutorial side, which tests after every epoch,
runs ``benchmarks/tutorial_loop.py --epochs N``. The felt epoch of each side is
(T3 − T1) / 2: an epoch with all that comes with it (evaluation, checkpoints, pictures,
logs), start-up excluded.

``epochs``: the training epochs alone (evaluation and start-up excluded), timed inside
one process, ``--repeats`` runs of ``--epochs`` epochs per side, with a third side, the
floor: a plain PyTorch loop over the same resident tensors (``benchmarks/floor_loop.py``,
no framework), against which each fashion_lit variant's epoch is also put as a ratio.

A variant is a named set of extra fashion_lit options (``NAME=OPTIONS``); each is timed
beside the tutorial loop. Without ``--variant`` there is one, ``default``, without
options. Run it with::

    python benchmarks/speed.py whole                        # or: make bench
    python benchmarks/speed.py epochs --epochs 2            # or: make bench-epochs
    python benchmarks/speed.py epochs --repeats 4 --without-tutorial \\
        --variant automatic=--model.step=automatic --variant lean=--model.step=lean
    python benchmarks/speed.py whole --accelerator cuda \\
        --variant eager= --variant cuda_graph=--model.cuda_graph=true

It prints a Markdown table, then the same figures as one line of JSON.
"""

import argparse
import json
import re
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from floor_loop import run as run_floor_loop
from lightning.pytorch import Callback
from measure import machine, rounded, seconds_to_exit, versions
from tutorial_loop import run as run_tutorial_loop

from fashion_lit.cli import cli_main

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parent / "configs" / "quickstart.yaml"
TUTORIAL = "tutorial loop"
FLOOR = "floor"
WHOLE_EPOCHS = (1, 3, 5)

Variant = tuple[str, list[str]]


def variant(text: str) -> Variant:
    """``NAME=OPTIONS`` → (name, options); the options are split as a shell splits them."""
    name, separator, options = text.partition("=")
    if not separator or not re.fullmatch(r"\w[\w.-]*", name):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME=OPTIONS with a NAME of letters, digits, _ . -, "
            "e.g. 'eager=' or 'cuda_graph=--model.cuda_graph=true'"
        )
    return name, shlex.split(options)


def parse_arguments(args: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/speed.py", description=__doc__.splitlines()[0]
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    for mode, about in (
        ("whole", "whole processes: 1, 3 and 5 epochs, then a test; the felt epoch"),
        ("epochs", "training epochs alone, timed in one process"),
    ):
        sub = modes.add_parser(mode, help=about, description=about)
        sub.add_argument("--accelerator", choices=["cpu", "cuda"], default="cpu")
        sub.add_argument("--repeats", type=int, default=2, help="runs of each side (default 2)")
        sub.add_argument(
            "--variant",
            type=variant,
            action="append",
            metavar="NAME=OPTIONS",
            help="extra fashion_lit options under a name; repeat for several",
        )
        sub.add_argument("--data-dir", default="data")
        if mode == "epochs":
            sub.add_argument("--epochs", type=int, default=2, help="epochs per run (default 2)")
            sub.add_argument(
                "--without-tutorial",
                action="store_true",
                help="time the floor and the variants alone (their ratios to the floor)",
            )
    parsed = parser.parse_args(args)
    parsed.variant = parsed.variant or [("default", [])]
    names = [name for name, _ in parsed.variant]
    if len(set(names)) != len(names):
        parser.error(f"--variant: each name once, got {', '.join(names)}")
    if parsed.repeats < 1:
        parser.error(f"--repeats must be 1 or more, got {parsed.repeats}")
    return parsed


def fashion_lit_options(args: argparse.Namespace, runs: str, options: list[str]) -> list[str]:
    return [
        f"--config={CONFIG}",
        f"--data.data_dir={args.data_dir}",
        f"--trainer.accelerator={args.accelerator}",
        f"--trainer.logger.init_args.save_dir={runs}",
        *options,
    ]


def whole(args: argparse.Namespace) -> dict:
    """Seconds to exit of each side's processes, per epoch count; the felt epoch."""
    python = sys.executable
    seconds: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="fashion_lit-bench-") as runs:
        for _ in range(args.repeats):
            for epochs in WHOLE_EPOCHS:
                tutorial = [python, str(HERE / "tutorial_loop.py"), f"--epochs={epochs}"]
                tutorial += [f"--data-dir={args.data_dir}", f"--device={args.accelerator}"]
                times = seconds.setdefault(TUTORIAL, {})
                times.setdefault(str(epochs), []).append(seconds_to_exit(tutorial))
                for name, options in args.variant:
                    common = fashion_lit_options(args, runs, options)
                    fit = [python, "-m", "fashion_lit", "fit", *common]
                    fit.append(f"--trainer.max_epochs={epochs}")
                    if epochs == WHOLE_EPOCHS[-1]:
                        fit.append("--test_after_fit=true")
                    times = seconds.setdefault(name, {})
                    times.setdefault(str(epochs), []).append(seconds_to_exit(fit))
    sides = {name: medians(times) for name, times in seconds.items()}
    for side in sides.values():
        side["felt_epoch_ratio"] = side["felt_epoch_s"] / sides[TUTORIAL]["felt_epoch_s"]
        side["whole_ratio"] = side["whole_s"] / sides[TUTORIAL]["whole_s"]
    return sides


def medians(times: dict[str, list[float]]) -> dict:
    """A side's median seconds: per epoch count, the felt epoch, and the whole job
    (5 epochs and the test, one process)."""
    median = {count: statistics.median(values) for count, values in times.items()}
    return {
        **{f"{count}_epochs_s": median[str(count)] for count in WHOLE_EPOCHS},
        "felt_epoch_s": (median["3"] - median["1"]) / 2,
        "whole_s": median["5"],
        "runs_s": times,
    }


def whole_table(sides: dict) -> list[str]:
    rows = [
        "| side | 1 epoch | 3 epochs | 5 epochs and the test, one process "
        "| felt epoch (T3 − T1) / 2 | ratio | 5-epoch ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, side in sides.items():
        label = (
            "plain tutorial loop (`benchmarks/tutorial_loop.py`)"
            if name == TUTORIAL
            else f"fashion_lit `fit` ({name})"
        )
        rows.append(
            f"| {label} | {side['1_epochs_s']:.1f} s | {side['3_epochs_s']:.1f} s "
            f"| {side['5_epochs_s']:.1f} s | {side['felt_epoch_s']:.2f} s "
            f"| {side['felt_epoch_ratio']:.2f} | {side['whole_ratio']:.2f} |"
        )
    return rows


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


def fashion_lit_epochs(args: argparse.Namespace, runs: str, options: list[str]) -> list[float]:
    timer = TrainEpochTimer()
    options = [*fashion_lit_options(args, runs, options), f"--trainer.max_epochs={args.epochs}"]
    cli = cli_main(options, run=False)
    cli.trainer.callbacks.append(timer)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return timer.seconds


def floor_epochs(args: argparse.Namespace, runs: str) -> list[float]:
    """The floor's epochs, over the training split that the first variant's options give."""
    cli = cli_main(fashion_lit_options(args, runs, args.variant[0][1]), run=False)
    return run_floor_loop(cli.datamodule, args.epochs, 0, args.accelerator)["epoch_seconds"]


def epochs(args: argparse.Namespace) -> dict:
    """Seconds of each training epoch of each side; their medians, and their ratios to the
    tutorial loop's and to the floor's."""
    seconds: dict[str, list[float]] = {} if args.without_tutorial else {TUTORIAL: []}
    seconds.update({FLOOR: [], **{name: [] for name, _ in args.variant}})
    with tempfile.TemporaryDirectory(prefix="fashion_lit-bench-") as runs:
        for _ in range(args.repeats):
            if not args.without_tutorial:
                tutorial = run_tutorial_loop(args.data_dir, args.epochs, 0, args.accelerator)
                seconds[TUTORIAL] += tutorial["epoch_seconds"]
            seconds[FLOOR] += floor_epochs(args, runs)
            for name, options in args.variant:
                seconds[name] += fashion_lit_epochs(args, runs, options)
    reference = statistics.median(seconds[TUTORIAL]) if TUTORIAL in seconds else None
    floor = statistics.median(seconds[FLOOR])
    return {
        name: {
            "epoch_median_s": statistics.median(values),
            "ratio": statistics.median(values) / reference if reference else None,
            "floor_ratio": statistics.median(values) / floor,
            "epochs_s": values,
        }
        for name, values in seconds.items()
    }


def epochs_table(sides: dict) -> list[str]:
    rows = [
        "| side | training epoch, median | ratio to the tutorial loop | ratio to the floor |",
        "| --- | --- | --- | --- |",
    ]
    labels = {
        TUTORIAL: "plain tutorial loop (`DataLoader` + `ToTensor`)",
        FLOOR: "floor: plain PyTorch loop over the resident tensors (`floor_loop.py`)",
    }
    for name, side in sides.items():
        label = labels.get(name, f"fashion_lit `fit` ({name})")
        ratio = "—" if side["ratio"] is None else f"{side['ratio']:.2f}"
        rows.append(
            f"| {label} | {side['epoch_median_s']:.2f} s | {ratio} | {side['floor_ratio']:.2f} |"
        )
    return rows


def main(args: Sequence[str] | None = None) -> dict:
    parsed = parse_arguments(args)
    sides = whole(parsed) if parsed.mode == "whole" else epochs(parsed)
    table = whole_table(sides) if parsed.mode == "whole" else epochs_table(sides)
    result = {
        "mode": parsed.mode,
        "machine": machine(parsed.accelerator),
        "versions": versions(),
        "repeats": parsed.repeats,
        "variants": {name: options for name, options in parsed.variant},
        "sides": sides,
    }
    given = sys.argv[1:] if args is None else args
    print(f"python benchmarks/speed.py {shlex.join(given)}")
    print(f"on {result['machine']}, {result['versions']}; medians of {parsed.repeats} runs\n")
    print("\n".join(table))
    print(json.dumps(rounded(result)))
    return result


if __name__ == "__main__":
    main()
