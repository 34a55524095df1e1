"""``fit --test_after_fit true``: the run's best checkpoint tested in the same process,
with the numbers, results and config that a separate ``test --ckpt_path best`` gives."""

import json
from pathlib import Path

import pytest
import torch
import yaml

from fashion_lit.runs import TEST_RESULTS, best_checkpoint
from tests.helpers.tensorboard import read_events

RUN = Path("lightning_logs") / "version_0"


def test_fit_then_test_in_one_process_gives_a_separate_tests_numbers(run_cli, tiny_args):
    fitted = run_cli("fit", *tiny_args, "--test_after_fit=true")
    tested = fitted.trainer.callback_metrics
    results = json.loads((RUN / TEST_RESULTS).read_text())
    assert results["checkpoint"] == best_checkpoint(RUN).name
    assert results["test/acc"] == pytest.approx(float(tested["test/acc"]))
    config = yaml.safe_load((RUN / "config-test.yaml").read_text())
    assert Path(config["ckpt_path"]).name == best_checkpoint(RUN).name
    separate = run_cli("test", *tiny_args, "--ckpt_path=best").trainer.callback_metrics
    assert float(separate["test/acc"]) == float(tested["test/acc"])
    assert float(separate["test/loss"]) == float(tested["test/loss"])
    assert results["test/loss"] == pytest.approx(float(separate["test/loss"]))
    assert not Path("lightning_logs/version_1").exists()  # the test continued the run
    # Both tests at the tested checkpoint's step, where a separate `test` puts them.
    step = torch.load(best_checkpoint(RUN), weights_only=True)["global_step"]
    assert [event.step for event in read_events(RUN).Scalars("test/acc")] == [step, step]
