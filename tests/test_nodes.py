"""A run on several machines without hangs: torchrun starts 2 nodes × 1 process on
127.0.0.1 (gloo), one node in a folder without the runs; and a multi-node run's config
evaluated on one machine."""

import os
import subprocess
import time
from pathlib import Path

import yaml

from fashion_lit.nodes import DIST_TIMEOUT_ENV
from tests.helpers.ddp import torchrun_node
from tests.helpers.paths import REPO
from tests.helpers.serve import free_port

SHARED = (
    "With --trainer.num_nodes 2, every node reads the checkpoint and the runs folder from its "
    "own disk: put them on a disk that all nodes share, or at the same path on every node."
)


def trained_config(run_cli, tiny_args) -> Path:
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    return Path("lightning_logs", "version_0", "config.yaml").resolve()


def test_a_node_without_the_checkpoint_stops_every_node(run_cli, tiny_args):
    config = trained_config(run_cli, tiny_args)
    Path("elsewhere").mkdir()  # another machine's disk: no lightning_logs there
    args = ["test", f"--config={config}", "--ckpt_path=best", "--trainer.num_nodes=2"]
    args += ["--trainer.strategy=ddp", "--trainer.accelerator=cpu", "--trainer.devices=1"]
    env = {**os.environ, "PYTHONPATH": str(REPO), DIST_TIMEOUT_ENV: "5"}
    port = free_port()
    started = time.monotonic()
    nodes = [
        subprocess.Popen(
            torchrun_node(rank, 2, port, args),
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank, folder in ((0, "."), (1, "elsewhere"))
    ]
    try:
        outputs = [node.communicate(timeout=120)[0] for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert time.monotonic() - started < 60
    with_runs, without = outputs
    assert "error: --ckpt_path best: No trained run found under lightning_logs" in without
    assert SHARED in without
    assert "error: the run's processes did not all reach the same point within the " in with_runs
    assert "exitcode  : 2" in with_runs and "exitcode  : 2" in without  # torchrun's report


def test_a_multi_node_config_is_evaluated_on_one_node_and_says_so(run_cli, tiny_args, capsys):
    config = yaml.safe_load(trained_config(run_cli, tiny_args).read_text())
    config["trainer"].update(num_nodes=2, strategy="ddp")
    Path("two-nodes.yaml").write_text(yaml.safe_dump(config))
    capsys.readouterr()
    tested = run_cli("test", "--config=two-nodes.yaml", "--ckpt_path=best")
    assert tested.trainer.num_nodes == 1 and tested.trainer.world_size == 1
    assert (
        "test: on one node and one device (the config's num_nodes=2, devices=1, strategy=ddp "
        "are for training; give --trainer.num_nodes, --trainer.devices or --trainer.strategy "
        "to spread it)." in capsys.readouterr().out
    )
