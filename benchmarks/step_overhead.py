"""What Lightning and fashion_lit cost per training step, with the arithmetic taken out.

``speed.py epochs`` puts fashion_lit's epoch beside the floor with the tutorial's
network, whose arithmetic is most of a step and varies from run to run on a shared
machine as much as the overhead itself. Here the network is one linear layer (784 → 10,
:class:`OneLayer`), so a step's arithmetic costs next to nothing, and one epoch over the
resident training split is timed three ways, interleaved:

- ``floor``: ``floor_loop.py``'s plain PyTorch loop over the resident tensors;
- ``bare Lightning``: a ``LightningModule`` with manual optimisation (backward, step,
  zero_grad) in a ``Trainer`` with nothing else: no callbacks, logger, progress bar,
  checkpoints or validation. What Lightning's per-batch loop costs by itself;
- ``fashion_lit lean``: ``fit --model.step lean`` with the quickstart config, as a user
  runs it (its callbacks, logger and progress bar), the network swapped for OneLayer.

It prints each side's median epoch and its microseconds per step above the floor's.
Run it with::

    python benchmarks/step_overhead.py --repeats 5 --threads 1
"""

import argparse
import json
import shlex
import statistics
import tempfile
from collections.abc import Sequence

import torch
from floor_loop import run as run_floor_loop
from lightning.pytorch import LightningModule, Trainer
from measure import machine, rounded, versions
from speed import TrainEpochTimer, fashion_lit_options
from torch import Tensor, nn

from fashion_lit.cli import cli_main

FLOOR, BARE, LEAN = "floor", "bare Lightning", "fashion_lit lean"


class OneLayer(nn.Sequential):
    """784 → 10: a network whose step costs next to nothing but the framework around it."""

    def __init__(self) -> None:
        super().__init__(nn.Flatten(), nn.Linear(28 * 28, 10))


class BareModule(LightningModule):
    """Manual optimisation and nothing more: Lightning's per-batch loop by itself."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net, self.loss_fn = OneLayer(), nn.CrossEntropyLoss()
        self.automatic_optimization = False

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        images, targets = batch
        self.loss_fn(self.net(images), targets).backward()
        optimizer = self.optimizers()
        optimizer.step()
        optimizer.optimizer.zero_grad()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=1e-3)


def bare(batches) -> float:
    """Seconds of one epoch of :class:`BareModule` in a Trainer with nothing else."""
    timer = TrainEpochTimer()
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        callbacks=[timer],
    )
    trainer.fit(BareModule(), train_dataloaders=batches)
    return timer.seconds[0]


def lean(args: argparse.Namespace, runs: str) -> float:
    """Seconds of the training epoch of ``fit --model.step lean`` with :class:`OneLayer`."""
    options = [*args.options, "--model.step=lean", "--trainer.max_epochs=1"]
    options.append("--model.net=step_overhead.OneLayer")  # benchmarks/ is on sys.path
    cli = cli_main(fashion_lit_options(args, runs, options), run=False)
    timer = TrainEpochTimer()
    cli.trainer.callbacks.append(timer)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return timer.seconds[0]


def parse_arguments(args: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/step_overhead.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeats", type=int, default=5, help="epochs of each side (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument(
        "--options",
        type=shlex.split,
        default=[],
        help="extra fashion_lit options, quoted after an equals sign: --options='--data.x 1'",
    )
    parsed = parser.parse_args(args)
    for name in ("repeats", "threads"):
        if getattr(parsed, name) < 1:
            parser.error(f"--{name} must be 1 or more, got {getattr(parsed, name)}")
    parsed.accelerator = "cpu"  # the per-step Python is what is measured; on the CPU alone
    return parsed


def main(args: Sequence[str] | None = None) -> dict:
    parsed = parse_arguments(args)
    torch.set_num_threads(parsed.threads)
    seconds: dict[str, list[float]] = {FLOOR: [], BARE: [], LEAN: []}
    with tempfile.TemporaryDirectory(prefix="fashion_lit-bench-") as runs:
        options = fashion_lit_options(parsed, runs, parsed.options)
        datamodule = cli_main(options, run=False).datamodule
        datamodule.setup("fit")  # safe to call again, as run_floor_loop does
        steps = len(datamodule.train_dataloader())
        for _ in range(parsed.repeats):
            floor = run_floor_loop(datamodule, 1, 0, parsed.accelerator, network=OneLayer)
            seconds[FLOOR] += floor["epoch_seconds"]
            seconds[BARE].append(bare(datamodule.train_dataloader()))
            seconds[LEAN].append(lean(parsed, runs))
    floor_median = statistics.median(seconds[FLOOR])
    sides = {
        name: {
            "epoch_median_s": statistics.median(values),
            "us_per_step_above_floor": (statistics.median(values) - floor_median) / steps * 1e6,
            "epochs_s": values,
        }
        for name, values in seconds.items()
    }
    result = {
        "machine": machine(),
        "versions": versions(),
        "repeats": parsed.repeats,
        "steps": steps,
        "sides": sides,
    }
    print(f"on {result['machine']}, {result['versions']}; medians of {parsed.repeats} epochs")
    print(f"of {steps} steps, one linear layer\n")
    print("| side | epoch, median | per step above the floor |\n| --- | --- | --- |")
    for name, side in sides.items():
        above = side["us_per_step_above_floor"]
        print(f"| {name} | {side['epoch_median_s']:.3f} s | {above:.0f} µs |")
    print(json.dumps(rounded(result)))
    return result


if __name__ == "__main__":
    main()
