"""configs/tuned.yaml over several seeds: the test accuracy of each, its training time, the machine.

Each seed is trained with ``python -m fashion_lit fit`` and its best checkpoint (by
``val/acc``) is tested; the table it prints is the README's. Run it with::

    python benchmarks/tuned.py                 # or: make tuned
    python benchmarks/tuned.py --jobs 2        # two seeds at a time, on a machine with room

The runs go to ``lightning_logs/tuned/seed<N>/``.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from measure import machine

from fashion_lit.cli import cli_main

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def options(args: argparse.Namespace, seed: int) -> list[str]:
    return [
        f"--config={args.config}",
        f"--seed_everything={seed}",
        f"--data.data_dir={args.data_dir}",
        f"--trainer.logger.init_args.save_dir={args.logs}",
        f"--trainer.logger.init_args.name=seed{seed}",
        *QUIET,
        *args.extra,
    ]


def fit(args: argparse.Namespace, seed: int) -> float:
    """Train one seed in its own process; the wall time in seconds."""
    log = Path(args.logs) / f"seed{seed}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "fashion_lit", "fit", *options(args, seed)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        raise SystemExit(f"fit with seed {seed} failed (exit {done.returncode}); see {log}")
    return time.perf_counter() - start


def test_best(args: argparse.Namespace, seed: int) -> float:
    tested = cli_main(["test", *options(args, seed), "--ckpt_path=best"])
    return float(tested.trainer.callback_metrics["test/acc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/tuned.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--logs", default="lightning_logs/tuned")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at the same time")
    parser.add_argument("extra", nargs="*", help="more fit/test options, after --")
    args = parser.parse_args()
    with ThreadPoolExecutor(args.jobs) as pool:
        times = pool.map(lambda seed: fit(args, seed), args.seeds)
        seconds = dict(zip(args.seeds, times, strict=True))
    accuracy = {seed: test_best(args, seed) for seed in args.seeds}
    for seed in args.seeds:
        print(
            json.dumps(
                {
                    "seed": seed,
                    "test_acc": round(accuracy[seed], 4),
                    "fit_seconds": round(seconds[seed]),
                }
            )
        )
    mean = statistics.mean(accuracy.values())
    device = machine("cuda" if torch.cuda.is_available() else "cpu")
    print(
        "\n| configuration | seeds | test accuracy per seed | mean | fit time per seed | machine |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {args.config} {' '.join(args.extra)} | {', '.join(map(str, args.seeds))} "
        f"| {', '.join(f'{100 * accuracy[s]:.2f}%' for s in args.seeds)} | {100 * mean:.2f}% "
        f"| {', '.join(f'{seconds[s] / 60:.1f} min' for s in args.seeds)} "
        f"| {device}{f', {args.jobs} seeds at a time' if args.jobs > 1 else ''} |"
    )


if __name__ == "__main__":
    main()
