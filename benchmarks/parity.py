"""fashion_lit with configs/parity.yaml against the plain tutorial loop, same seed.

Both train the tutorial's network for 5 epochs on the same data without shuffling,
seeded with 0 before the network is built; their test accuracies should agree within
0.3 points. Both read the data from ``--data-dir``. Run it with::

    python benchmarks/parity.py                        # or: make parity
    python benchmarks/parity.py --data-dir data -- --data.download=false   # more fit options
"""

import argparse
import json
from pathlib import Path

from tutorial_loop import run as run_tutorial_loop

from fashion_lit.cli import cli_main


def run_fashion_lit(
    config: str, seed: int, epochs: int, data_dir: str, logs: str, extra: list[str]
) -> float:
    common = [
        f"--config={config}",
        f"--seed_everything={seed}",
        f"--data.data_dir={data_dir}",
        f"--trainer.logger.init_args.save_dir={logs}",
        *extra,
    ]
    cli_main(
        ["fit", *common, f"--trainer.max_epochs={epochs}", "--trainer.enable_progress_bar=false"]
    )
    tested = cli_main(["test", *common, "--ckpt_path=last", "--trainer.enable_progress_bar=false"])
    return float(tested.trainer.callback_metrics["test/acc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/parity.yaml")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--logs", default="lightning_logs/parity")
    parser.add_argument("extra", nargs="*", help="more fashion_lit options, after --")
    args = parser.parse_args()
    Path(args.logs).mkdir(parents=True, exist_ok=True)
    plain = run_tutorial_loop(args.data_dir, args.epochs, args.seed)["test_acc"]
    lit = run_fashion_lit(args.config, args.seed, args.epochs, args.data_dir, args.logs, args.extra)
    result = {
        "seed": args.seed,
        "epochs": args.epochs,
        "tutorial_loop_test_acc": plain,
        "fashion_lit_test_acc": round(lit, 4),
        "difference_points": round(100 * (lit - plain), 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
