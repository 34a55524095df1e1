"""Start-up: how long the commands take before they do anything.

Four things, taking turns for ``--rounds`` rounds (5 by default), then their medians:

* ``python -m fashion_lit --help``: the router's help, which imports neither torch nor
  Lightning;
* ``python -m fashion_lit fit --help``: Lightning's parser, built in full;
* ``python -c "import lightning.pytorch"``: the reference, what any Lightning command pays;
* ``serve``: from its start until ``/health`` answers 200 (asked every 50 ms), serving an
  untrained network of the tutorial's shape written to a temporary ``model.pth``.

The goal: the top-level ``--help`` at most 0.3× the import of Lightning. Run it from the
repository root (``--output`` also writes the figures as JSON)::

    python benchmarks/startup.py
    python benchmarks/startup.py --rounds 1
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from measure import machine, rounded, versions
from serve import free_port, running, server_command

from fashion_lit.network import NeuralNetwork

#: The top-level help's goal, as a fraction of the import of Lightning.
HELP_GOAL = 0.3

COMMANDS = {
    "python -m fashion_lit --help": [sys.executable, "-m", "fashion_lit", "--help"],
    "python -m fashion_lit fit --help": [sys.executable, "-m", "fashion_lit", "fit", "--help"],
    'python -c "import lightning.pytorch"': [sys.executable, "-c", "import lightning.pytorch"],
}
SERVE = "serve until /health answers"


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def serve_seconds(ckpt_path: str) -> float:
    port = free_port()
    started = time.perf_counter()
    with running(server_command("fashion_lit", ckpt_path, port, []), port, poll_s=0.05):
        return time.perf_counter() - started


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", help="also write the figures to this JSON file")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in [*COMMANDS, SERVE]}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt_path = str(Path(tmp) / "model.pth")
        torch.save(NeuralNetwork().state_dict(), ckpt_path)
        for round_ in range(1, args.rounds + 1):
            for name, command in COMMANDS.items():
                times[name].append(seconds(command))
            times[SERVE].append(serve_seconds(ckpt_path))
            print(f"round {round_}: " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items()))
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    reference = medians['python -c "import lightning.pytorch"']
    print(f"\nMedians of {args.rounds} rounds on the {machine()}; {versions()}:\n")
    print("| command | median | × import of Lightning |\n| --- | --- | --- |")
    for name, value in medians.items():
        print(f"| `{name}` | {value:.2f} s | {value / reference:.2f}× |")
    help_ratio = medians["python -m fashion_lit --help"] / reference
    verdict = "met" if help_ratio <= HELP_GOAL else "not met"
    goal = f"goal ≤ {HELP_GOAL}×: {verdict}"
    print(f"\nTop-level --help: {help_ratio:.2f}× the import of Lightning ({goal})")
    if args.output:
        figures = {"rounds": args.rounds, "medians_s": medians, "help_ratio": help_ratio}
        Path(args.output).write_text(json.dumps(rounded(figures), indent=2) + "\n")


if __name__ == "__main__":
    main()
