"""One fashion_lit command, run as ``python -m fashion_lit`` runs it, and timed by phase.

``python benchmarks/phase_clock.py fit --config configs/quickstart.yaml`` runs the command
with Lightning's ``SimpleProfiler`` (``--trainer.profiler=simple``) and a callback that
notes when each phase begins, then prints one line: ``PROFILE`` and, as JSON, the seconds
of each phase, the time the imports were done and the time the command returned (so that
the process that started it can add the start-up and the exit). ``profile_run.py`` runs
it and explains the phases.
"""

import json
import runpy
import sys
import time
from collections import defaultdict

from lightning.pytorch import Callback
from measure import machine, versions

REPORT = "PROFILE "


class PhaseClock(Callback):
    """Notes ``(event, time.time())`` at each phase boundary of a run, and the profiler's
    total seconds per hook at its end. The last one made is ``PhaseClock.last``."""

    last: "PhaseClock | None" = None

    def __init__(self) -> None:
        self.events: list[tuple[str, float]] = []
        self.hooks: dict[str, float] = {}
        PhaseClock.last = self

    def note(self, event: str) -> None:
        self.events.append((event, time.time()))

    def setup(self, trainer, pl_module, stage) -> None:
        self.note("setup")

    def on_sanity_check_start(self, trainer, pl_module) -> None:
        self.note("sanity_start")

    def on_sanity_check_end(self, trainer, pl_module) -> None:
        self.note("sanity_end")

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.note("epoch_start")

    def on_validation_start(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.note("validation_start")

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.note("validation_end")

    def on_train_end(self, trainer, pl_module) -> None:
        self.note("train_end")

    def on_test_start(self, trainer, pl_module) -> None:
        self.note("test_start")

    def on_test_end(self, trainer, pl_module) -> None:
        self.note("test_end")

    def teardown(self, trainer, pl_module, stage) -> None:
        recorded = trainer.profiler.recorded_durations
        self.hooks = {action: sum(seconds) for action, seconds in recorded.items()}


def phases(events: list[tuple[str, float]], hooks: dict[str, float], ended: float) -> dict:
    """Seconds per phase, from the clock's events, the profiler's hook totals and the time
    the command returned (all but the start-up and the exit, which the caller knows)."""
    at = defaultdict(list)
    for event, when in events:
        at[event].append(when)
    spent: dict[str, float] = defaultdict(float)

    def total(*parts: str) -> float:
        return sum(s for action, s in hooks.items() if all(part in action for part in parts))

    spent["data check and reading"] = total("[LightningDataModule]")
    spent["pictures"] = total("[Callback]EvaluationImages", "_epoch_end")
    spent["of which checkpoints"] = total("[Callback]RunCheckpoint")
    if at["sanity_start"]:
        spent["sanity check"] = at["sanity_end"][0] - at["sanity_start"][0]
    first_step = (at["epoch_start"] or at["test_start"])[0]
    spent["before the first step"] = first_step - at["setup"][0] - spent.get("sanity check", 0)
    epoch_starts = at["epoch_start"]
    ends = [*epoch_starts[1:], *at["train_end"]]
    for start, validation_start, validation_end, end in zip(
        epoch_starts, at["validation_start"], at["validation_end"], ends, strict=True
    ):
        spent["training steps"] += validation_start - start
        spent["validation steps"] += validation_end - validation_start
        spent["epoch ends"] += end - validation_end
    if at["test_start"]:
        spent["test steps"] = at["test_end"][0] - at["test_start"][0]
    evaluation = "test steps" if at["test_start"] else "validation steps"
    spent[evaluation] -= spent["pictures"]
    last_step = at["train_end"] or at["test_end"]
    spent["after the last step"] = ended - last_step[-1]
    return dict(spent)


def main(arguments: list[str]) -> None:
    """Run ``python -m fashion_lit ARGUMENTS``, timed; print its phases as one JSON line."""
    # This file as a module: the copy from which the command line loads the clock.
    import phase_clock

    import fashion_lit.cli  # noqa: F401  (what `python -m fashion_lit` imports first)

    imported = time.time()
    clock = f"{phase_clock.__name__}.{PhaseClock.__name__}"
    sys.argv = [
        "python -m fashion_lit",
        *arguments,
        "--trainer.profiler=simple",
        f"--trainer.callbacks+={clock}",
    ]
    # Run as `python -m fashion_lit` runs, fashion_lit/__main__.py included.
    runpy.run_module("fashion_lit", run_name="__main__")
    ended = time.time()
    events, hooks = phase_clock.PhaseClock.last.events, phase_clock.PhaseClock.last.hooks
    spent = phases(events, hooks, ended)
    # The objects are built, and the data prepared and set up, before the clock's setup.
    spent["command line"] = events[0][1] - imported - spent["data check and reading"]
    report = {"machine": machine(), "versions": versions(), "imported": imported, "ended": ended}
    print(REPORT + json.dumps({**report, **spent}))


if __name__ == "__main__":
    main(sys.argv[1:])
