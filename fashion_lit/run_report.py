"""What a command tells its user at the end: what it wrote, where, from which checkpoint,
and the command to run next; and, before a ``fit`` with no bound, that it has none.

Lightning prints the metrics; the paths were left for the user to find in
``lightning_logs/``. These few lines name them, so that the next command can be copied.
"""

from pathlib import Path

from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, Timer

from fashion_lit.metrics import MONITOR
from fashion_lit.runs import shown

PROG = "python -m fashion_lit"

#: The files of a run folder that are named by a pattern rather than one by one.
_GROUPED = ("events.out.tfevents.",)


def contents(run: Path) -> str:
    """The top of a run folder: ``config.yaml, checkpoints/, events.out.tfevents.*``."""
    names = []
    for entry in sorted(run.iterdir()):
        group = next((start for start in _GROUPED if entry.name.startswith(start)), None)
        name = f"{group}*" if group else entry.name + ("/" if entry.is_dir() else "")
        if name not in names:
            names.append(name)
    return ", ".join(names)


def unbounded_training(trainer: Trainer) -> str | None:
    """One line when ``fit`` would train until stopped (no epoch, step or time bound)."""
    timed = any(isinstance(callback, Timer) for callback in trainer.callbacks)
    if trainer.max_epochs not in (None, -1) or trainer.max_steps != -1 or timed:
        return None
    return (
        "fit: no bound on training (trainer.max_epochs: -1, and no trainer.max_steps or "
        "trainer.max_time): it goes on until stopped; Ctrl-C stops it cleanly, with last.ckpt."
    )


def end_of_run(command: str, trainer: Trainer, run: Path | None, source: Path | None) -> str | None:
    """The closing lines of ``command``, whose run folder is ``run`` and whose weights
    came from the checkpoint ``source`` (None: freshly initialised)."""
    if run is None or not run.is_dir():
        return None
    if command == "fit":
        return _after_fit(trainer, run)
    origin = f"from {shown(source)}" if source is not None else "from untrained weights"
    if command == "predict":
        lines = [f"predict: {origin}"]
    else:
        lines = [f"{command}: wrote {shown(run)} ({contents(run)}), {origin}"]
    if source is not None:
        lines.append(f"  next: {PROG} serve --ckpt_path {shown(source)}")
    else:
        lines.append(f"  next: train first: {PROG} fit --config configs/quickstart.yaml")
    return "\n".join(lines)


def _after_fit(trainer: Trainer, run: Path) -> str:
    lines = [f"fit: wrote {shown(run)} ({contents(run)})"]
    callback = trainer.checkpoint_callback
    best = callback.best_model_path if isinstance(callback, ModelCheckpoint) else ""
    if not best or not Path(best).is_file():
        lines.append("  no best checkpoint: no validation ended (--ckpt_path last resumes the run)")
        return "\n".join(lines)
    score = callback.best_model_score
    metric = f" ({callback.monitor or MONITOR} {float(score):.4f})" if score is not None else ""
    config = run / "config.yaml"
    with_config = f"--config {shown(config)} " if config.is_file() else ""
    lines += [
        f"  best checkpoint: {shown(best)}{metric}",
        f"  next: {PROG} test {with_config}--ckpt_path {shown(best)}",
        f"        {PROG} serve --ckpt_path {shown(best)}",
    ]
    return "\n".join(lines)
