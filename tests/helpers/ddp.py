"""Lightning's DDP on two CPU processes (gloo), as the tests run it; and torchrun's nodes."""

import sys

PROCESSES = 2


def on_two_processes(args: list[str]) -> list[str]:
    """``args`` with DDP on two CPU processes instead of one device."""
    return [a for a in args if not a.startswith("--trainer.devices=")] + [
        "--trainer.strategy=ddp",
        f"--trainer.devices={PROCESSES}",
    ]


def torchrun_node(node_rank: int, nodes: int, port: int, args: list[str]) -> list[str]:
    """``torchrun`` starting node ``node_rank`` of ``nodes`` (one process each) of
    ``python -m fashion_lit ARGS`` on 127.0.0.1, as on separate machines."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nnodes={nodes}",
        "--nproc_per_node=1",
        f"--node_rank={node_rank}",
        "--master_addr=127.0.0.1",
        f"--master_port={port}",
        "-m",
        "fashion_lit",
        *args,
    ]
