"""``benchmarks/seeds.py``: a configuration's test accuracy over seeds, as mean ± std."""

import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

SCRIPT = REPO / "benchmarks" / "seeds.py"


def test_two_seeds_give_each_test_accuracy_and_their_mean_and_spread(tiny_args):
    command = [
        sys.executable,
        str(SCRIPT),
        f"--config={REPO / 'configs' / 'quickstart.yaml'}",
        "--seeds", "0", "1",
        "--threads=1",
        "--jobs=2",
        "--",
        *tiny_args,
        "--trainer.max_epochs=1",
        "--trainer.logger.init_args.log_graph=false",
    ]  # fmt: skip
    done = subprocess.run(
        command,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [record["seed"] for record in records] == [0, 1]
    accuracies = [record["test_acc"] for record in records]
    mean, spread = statistics.mean(accuracies), statistics.stdev(accuracies)
    assert f"test accuracy: {100 * mean:.2f}% ± {100 * spread:.2f}% over 2 seeds" in done.stdout
    assert "1 torch thread per run" in done.stdout
    for seed in (0, 1):
        run = Path("lightning_logs") / "seeds" / "quickstart" / f"seed{seed}"
        (version,) = run.iterdir()
        assert yaml.safe_load((version / "config.yaml").read_text())["seed_everything"] == seed
        assert (version / "config-test.yaml").is_file()


def test_a_single_seed_is_refused_since_it_has_no_spread(capsys):
    spec = importlib.util.spec_from_file_location("seeds", SCRIPT)
    seeds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seeds)
    with pytest.raises(SystemExit) as exit_:
        seeds.main(["--seeds", "3"])
    assert exit_.value.code == 2
    assert "give at least two different --seeds" in capsys.readouterr().err
