"""Runs on several machines (``trainer.num_nodes > 1``): what each node must find, and
never a hang.

Each node reads ``--ckpt_path best``/``last`` or a path on its own disk. A node that does
not find it exits at once, and the others would wait for it in the distributed
rendezvous for Lightning's default of 30 minutes; so a multi-node run's processes wait
for each other :data:`DIST_TIMEOUT_ENV` seconds at most (default
:data:`DIST_TIMEOUT_S`), after which each exits with a message that says what the nodes
must share. Evaluating a multi-node run's config on one machine (``test --config
<run>/config.yaml``) uses one node and one device, unless the command line asks for more.
"""

import os
import sys
from datetime import timedelta
from typing import Any

#: Seconds the processes of a multi-node run wait for each other in one collective
#: operation (the rendezvous included), and the variable that changes it.
DIST_TIMEOUT_S = 45
DIST_TIMEOUT_ENV = "FASHION_LIT_DIST_TIMEOUT"
#: The Trainer options that spread a run over nodes and devices.
SPREAD = ("num_nodes", "devices", "strategy")
SHARED = (
    "every node reads the checkpoint and the runs folder from its own disk: put them on a "
    "disk that all nodes share, or at the same path on every node"
)


def nodes(trainer: Any) -> int:
    """The ``trainer.num_nodes`` of a parsed trainer config (1 if unset)."""
    value = trainer.get("num_nodes") if trainer is not None else None
    return value if isinstance(value, int) and value > 0 else 1


def across_nodes(message: str, trainer: Any) -> str:
    """``message`` about a checkpoint not found, with what a multi-node run needs."""
    if nodes(trainer) <= 1:
        return message
    return f"{message} With --trainer.num_nodes {nodes(trainer)}, {SHARED}."


def one_node_for_evaluation(subcommand: str, trainer: Any, args: list[str] | None) -> None:
    """For validate, test and predict: the config's ``num_nodes``/``devices``/``strategy``
    (a multi-node training run's) become one node, one device, unless the command line
    gives them; said in one line."""
    if subcommand == "fit" or trainer is None:
        return
    given = sys.argv[1:] if args is None else [str(arg) for arg in args]
    options = {arg.split("=", 1)[0] for arg in given}
    from_config = [key for key in SPREAD if f"--trainer.{key}" not in options]
    spread = {key: trainer.get(key) for key in from_config}
    single = {"num_nodes": 1, "devices": 1, "strategy": "auto"}
    if all(spread[key] in (single[key], "auto", "1", None) for key in spread):
        return
    was = ", ".join(f"{key}={spread[key]}" for key in from_config)
    for key in from_config:
        trainer[key] = single[key]
    print(
        f"{subcommand}: on one node and one device (the config's {was} are for training; "
        "give --trainer.num_nodes, --trainer.devices or --trainer.strategy to spread it)."
    )


def distributed_strategy(trainer: Any) -> Any:
    """For a multi-node run given the strategy ``ddp`` by name: DDP whose processes wait
    for each other at most the distributed timeout; else None (the strategy as given)."""
    if nodes(trainer) <= 1 or trainer.get("strategy") not in ("ddp", "auto"):
        return None
    from lightning.pytorch.strategies import DDPStrategy

    seconds = float(os.environ.get(DIST_TIMEOUT_ENV) or DIST_TIMEOUT_S)
    return DDPStrategy(timeout=timedelta(seconds=seconds))


def lost_nodes(error: Exception) -> str:
    """The message for a distributed operation that timed out or lost a process."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        f"the run's processes did not all reach the same point within the distributed "
        f"timeout (${DIST_TIMEOUT_ENV}, {DIST_TIMEOUT_S} s by default): {first}. Another "
        f"node may have stopped; look at its output. {SHARED[0].upper()}{SHARED[1:]}."
    )
