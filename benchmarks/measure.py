"""What the benchmarks share: the machine they ran on, and timing a command's processes."""

import os
import platform
import subprocess
import time
from collections.abc import Sequence

import lightning
import torch


def machine(accelerator: str = "cpu") -> str:
    """The device the runs used, named as the README's tables name it."""
    if accelerator == "cuda":
        return torch.cuda.get_device_name()
    threads = torch.get_num_threads()
    return (
        f"{os.cpu_count()}-core {platform.machine()} CPU "
        f"({threads} torch thread{'s' if threads != 1 else ''})"
    )


def versions() -> str:
    python = platform.python_version()
    return f"Python {python}, torch {torch.__version__}, lightning {lightning.__version__}"


def seconds_to_exit(*commands: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall time from the start of the first command to the exit of the last, run one after
    the other. A command that fails stops the benchmark with the end of its output."""
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise SystemExit(
                f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
            )
    return time.perf_counter() - start


def rounded(value, digits: int = 3):
    """``value`` with every float in it rounded, for JSON meant to be read."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item, digits) for item in value]
    return value
