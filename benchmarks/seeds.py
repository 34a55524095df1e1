"""A configuration's test accuracy over several seeds: the mean ± standard deviation.

One run says little: the same recipe gives a different accuracy with another seed, and
even with another thread count (the order of floating-point sums changes). So each seed
is trained with ``python -m fashion_lit fit`` in its own process, with the thread count
set (``OMP_NUM_THREADS``), and its best checkpoint by ``val/acc`` is tested with the same
thread count; the table it prints gives the mean ± sample standard deviation, each seed's
accuracy and the thread count, as the README quotes them. Run it with::

    python benchmarks/seeds.py --config configs/tuned.yaml            # or: make tuned
    python benchmarks/seeds.py --config lightning_logs/search/best.yaml --jobs 2
    python benchmarks/seeds.py --config configs/tuned.yaml -- --trainer.max_epochs=30

Options after ``--`` go to every ``fit`` and ``test``. The runs go to
``lightning_logs/seeds/<config>/seed<N>/``.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from fashion_lit.cli import cli_main

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
DEFAULT_SEEDS = [0, 1, 2, 3, 4]


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
    """Train one seed in its own process with ``args.threads`` threads; the wall time in s."""
    log = Path(args.logs) / f"seed{seed}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    start = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "fashion_lit", "fit", *options(args, seed)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    if done.returncode != 0:
        raise SystemExit(f"fit with seed {seed} failed (exit {done.returncode}); see {log}")
    return time.perf_counter() - start


def test_best(args: argparse.Namespace, seed: int) -> float:
    """Test the best checkpoint of a seed's run (this process runs with ``args.threads``)."""
    tested = cli_main(["test", *options(args, seed), "--ckpt_path=best"])
    return float(tested.trainer.callback_metrics["test/acc"])


def machine(threads: int) -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return (
        f"{os.cpu_count()}-core {platform.machine()} CPU, "
        f"{threads} torch thread{'s' if threads != 1 else ''} per run"
    )


def percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/tuned.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=DEFAULT_SEEDS)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each run")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at the same time")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--logs", help="default: lightning_logs/seeds/<config's name>")
    parser.add_argument("extra", nargs="*", help="more fit/test options, after --")
    args = parser.parse_args(argv)
    if len(set(args.seeds)) < 2:
        parser.error("give at least two different --seeds: one run has no spread.")
    if args.threads < 1 or args.jobs < 1:
        parser.error("--threads and --jobs must be 1 or more.")
    args.logs = args.logs or str(Path("lightning_logs") / "seeds" / Path(args.config).stem)

    with ThreadPoolExecutor(args.jobs) as pool:
        seconds = dict(zip(args.seeds, pool.map(lambda s: fit(args, s), args.seeds), strict=True))
    torch.set_num_threads(args.threads)
    accuracy = {seed: test_best(args, seed) for seed in args.seeds}
    for seed in args.seeds:
        record = {"seed": seed, "test_acc": round(accuracy[seed], 4)}
        print(json.dumps({**record, "fit_seconds": round(seconds[seed])}))
    mean = statistics.mean(accuracy.values())
    spread = statistics.stdev(accuracy.values())
    print(f"\ntest accuracy: {percent(mean)} ± {percent(spread)} over {len(args.seeds)} seeds")
    print(
        "\n| configuration | seeds | test accuracy, mean ± std | per seed | fit time per seed "
        "| machine |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {args.config} {' '.join(args.extra)} | {', '.join(map(str, args.seeds))} "
        f"| {percent(mean)} ± {percent(spread)} "
        f"| {', '.join(percent(accuracy[s]) for s in args.seeds)} "
        f"| {', '.join(f'{seconds[s] / 60:.1f} min' for s in args.seeds)} "
        f"| {machine(args.threads)}{f', {args.jobs} seeds at a time' if args.jobs > 1 else ''} |"
    )


if __name__ == "__main__":
    main()
