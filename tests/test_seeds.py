"""``benchmarks/seeds.py``: a configuration's test accuracy over seeds, as mean ± std."""

import importlib.util
import json
import re
import statistics
from pathlib import Path

import pytest
import torch
import yaml

from tests.helpers.paths import REPO

SCRIPT = REPO / "benchmarks" / "seeds.py"


def load_script():
    spec = importlib.util.spec_from_file_location("seeds", SCRIPT)
    seeds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seeds)
    return seeds


def test_two_seeds_give_each_test_accuracy_and_their_mean_and_spread(tiny_args, capsys):
    threads = torch.get_num_threads()
    try:
        load_script().main(
            [
                f"--config={REPO / 'configs' / 'quickstart.yaml'}",
                "--seeds", "0", "1",
                "--threads=1",
                "--jobs=2",
                "--",
                *tiny_args,
                "--trainer.max_epochs=1",
                "--trainer.logger.init_args.log_graph=false",
            ]
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)  # the script sets this process's thread count
    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [record["seed"] for record in records] == [0, 1]
    accuracies = [record["test_acc"] for record in records]
    summary = re.search(r"test accuracy: ([\d.]+)% ± ([\d.]+)% over 2 seeds", out)
    assert summary is not None, out
    assert float(summary[1]) == pytest.approx(100 * statistics.mean(accuracies), abs=0.01)
    assert float(summary[2]) == pytest.approx(100 * statistics.stdev(accuracies), abs=0.01)
    assert "1 torch thread per run" in out
    for seed in (0, 1):
        run = Path("lightning_logs") / "seeds" / "quickstart" / f"seed{seed}"
        (version,) = run.iterdir()
        assert yaml.safe_load((version / "config.yaml").read_text())["seed_everything"] == seed
        assert (version / "config-test.yaml").is_file()


def test_a_single_seed_is_refused_since_it_has_no_spread(capsys):
    with pytest.raises(SystemExit) as exit_:
        load_script().main(["--seeds", "3"])
    assert exit_.value.code == 2
    assert "give at least two different --seeds" in capsys.readouterr().err
