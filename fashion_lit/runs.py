"""Run folders: where runs live, what is in them, and which one a command means.

A run is the folder ``<save_dir>/<name>/<version>`` of its logger (TensorBoardLogger's and
CSVLogger's layout; ``lightning_logs/version_N`` by default). It holds the run's
``config.yaml``, the logger's files, the evaluation pictures and ``checkpoints/``:
``last.ckpt``, the best checkpoints by ``val/acc`` and ``best.json``, which names the best.

Every command asks this module instead of working the layout out again. Lightning's
loggers pick ``version_N`` by listing the folders, so two ``fit``s started together took
the same one; :func:`claim_run` creates it with ``mkdir``, which one process alone wins.
"""

import itertools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

RUNS_ROOT = "lightning_logs"
CHECKPOINTS = "checkpoints"
LAST = "last.ckpt"
#: Beside the checkpoints of a run: which of them is the best, and by which metric.
BEST_RECORD = "best.json"
#: In a run folder: the test of its best checkpoint by ``fit --test_after_fit true``.
TEST_RESULTS = "test-results.json"
ALIASES = ("best", "last")


class RunNotFoundError(LookupError):
    """There is no run, or no checkpoint of a run, for ``best``/``last``."""


class ConfigFileError(ValueError):
    """A training config given to say where runs are cannot be read."""


def runs_root(config: Mapping[str, Any] | Any) -> Path:
    """The folder holding the run folders of a configuration (parsed, or a file's contents).

    A logger with run folders of its own (:func:`has_run_folders`) keeps them in
    ``<save_dir>/<name>``; for any other logger, or none, fashion_lit keeps the runs where
    TensorBoard would have: ``<trainer.default_root_dir>/lightning_logs``.
    """
    trainer = _child(config, "trainer")
    init_args = _child(_child(trainer, "logger"), "init_args")
    base = Path(_child(trainer, "default_root_dir") or ".")
    if not has_run_folders(init_args):
        return base / RUNS_ROOT
    name = _child(init_args, "name") if "name" in init_args else RUNS_ROOT
    return Path(_child(init_args, "save_dir") or base) / (name or "")


def has_run_folders(logger_options: Any) -> bool:
    """Whether a logger, by its ``init_args``, lays runs out as ``<save_dir>/<name>/<version>``
    (TensorBoard's and CSV's do; MLflow's keeps its runs in its tracking store)."""
    try:
        return "name" in logger_options or "version" in logger_options
    except TypeError:  # no options: no logger, or one given by its class alone
        return False


def run_folder(trainer: Any) -> Path:
    """The folder of a Trainer's run: the logger's (``trainer.log_dir``, which Lightning
    knows for its TensorBoard and CSV loggers, broadcast from rank 0 under DDP), else the
    Trainer's ``default_root_dir``, which the CLI sets to the run's folder."""
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger  # for trainers only

    if isinstance(trainer.logger, (TensorBoardLogger, CSVLogger)):
        return Path(trainer.log_dir)
    return Path(trainer.default_root_dir)


def named_run(config: Mapping[str, Any] | Any) -> Path | None:
    """The run folder that a configuration's logger names with its ``version``, if any.

    A tune trial's ``config.yaml`` and the ``config-<subcommand>.yaml`` of an evaluation
    name their run this way, so ``--ckpt_path best`` with such a config means that run's
    best checkpoint, not the most recent run's. A string version is the folder's name, a
    number ``n`` stands for ``version_n``.
    """
    version = _child(_child(_child(_child(config, "trainer"), "logger"), "init_args"), "version")
    if version is None:
        return None
    return runs_root(config) / (version if isinstance(version, str) else f"version_{version}")


def read_config_file(path: str | None) -> dict:
    """A training config's contents (empty without one: the runs in ``lightning_logs``)."""
    if path is None:
        return {}
    try:
        contents = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigFileError(f"--config {path}: cannot be read as YAML ({error}).") from error
    return contents if isinstance(contents, dict) else {}


def logger_options(run: Path) -> dict[str, str]:
    """The logger options (``trainer.logger.init_args.*``) that put a run in ``run``."""
    parts = {"save_dir": str(run.parent.parent), "name": run.parent.name, "version": run.name}
    return {f"trainer.logger.init_args.{key}": value for key, value in parts.items()}


def _child(node: Any, key: str) -> Any:
    """``node[key]`` of a mapping or a jsonargparse Namespace, else None."""
    getter = getattr(node, "get", None)
    return getter(key) if callable(getter) else None


def claim_run(root: Path, version: str | None = None) -> tuple[Path, Path | None]:
    """The run folder for a new run under ``root``, and the outermost folder this call
    created for it (``root`` itself if it was missing; None if the run folder existed).

    Without ``version``, the first free ``version_N`` is created: ``mkdir`` succeeds for
    one process only, so each of several ``fit``s started at once gets its own. With a
    ``version`` (a resumed run, a search's trial), that folder, created if it is missing.
    """
    created_root = next((p for p in reversed([root, *root.parents]) if not p.exists()), None)
    numbers = itertools.count(_next_number(root)) if version is None else None
    while True:
        run = root / (version if numbers is None else f"version_{next(numbers)}")
        try:
            run.mkdir(parents=True)
            return run, created_root or run
        except FileExistsError:
            if numbers is None:
                return run, None


def holds_a_run(folder: Path) -> bool:
    """Whether ``folder`` holds a run that started training (its config or checkpoints),
    rather than nothing yet, or only a search trial's ``fit.log``."""
    return (folder / CHECKPOINTS).is_dir() or any(folder.glob("config*.yaml"))


def _next_number(root: Path) -> int:
    taken = [p.name.removeprefix("version_") for p in root.glob("version_*")]
    return max((int(n) + 1 for n in taken if n.isdigit()), default=0)


def shown(path: str | os.PathLike) -> str:
    """``path`` as messages show it: relative to the working folder when it lies below
    it (as the user would type it), else absolute."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run_of(checkpoint: Path) -> Path | None:
    """The run folder a checkpoint file belongs to, if it sits in one's ``checkpoints/``."""
    return checkpoint.parent.parent if checkpoint.parent.name == CHECKPOINTS else None


def config_file_name(run: Path, subcommand: str) -> str:
    """The name under which a command that continues ``run`` saves its config.

    The run's ``config.yaml`` describes how it started and is kept: a resumed fit saves
    its config as the first free ``config-resume-N.yaml``, an evaluation as
    ``config-<subcommand>.yaml`` (the latest one replacing the previous).
    """
    if subcommand != "fit":
        return f"config-{subcommand}.yaml"
    resume = 1
    while (run / f"config-resume-{resume}.yaml").exists():
        resume += 1
    return f"config-resume-{resume}.yaml"


def find_latest_run(root: str | os.PathLike) -> Path:
    """The run folder under ``root`` that most recently saved a checkpoint."""
    runs = trained_runs(root)
    if not runs:
        raise RunNotFoundError(
            f"No trained run found under {root}: no folder there has a {CHECKPOINTS}/ "
            "subfolder. Train first (`python -m fashion_lit fit --config "
            "configs/quickstart.yaml`), or pass --ckpt_path path/to/file.ckpt."
        )
    return runs[0]


def trained_runs(root: str | os.PathLike) -> list[Path]:
    """The run folders under ``root`` that hold a ``checkpoints/`` folder, newest first
    (by when their last checkpoint was written)."""
    root = Path(root)
    runs = [p.parent for p in root.glob(f"*/{CHECKPOINTS}") if p.is_dir()] if root.is_dir() else []
    return sorted(runs, key=lambda run: (run / CHECKPOINTS).stat().st_mtime_ns, reverse=True)


def listing(folder: Path) -> str:
    """The checkpoint files of ``folder``, for messages."""
    files = sorted(p.name for p in folder.glob("*.ckpt"))
    return ", ".join(files) if files else "none"


def checkpoint_of(alias: str, root: str | os.PathLike, run: Path | None = None) -> Path:
    """The ``best`` or ``last`` checkpoint of ``run``, or of the most recent run under
    ``root`` when the config names none."""
    if run is None:
        run = find_latest_run(root)
        if alias == "best":
            return newest_best_checkpoint(root, run)
    elif not (run / CHECKPOINTS).is_dir():
        raise RunNotFoundError(
            f"The config names the run {run} (trainer.logger.init_args.version), which "
            f"has no {CHECKPOINTS}/ folder. Train that run first, give another config, or "
            "pass --ckpt_path path/to/file.ckpt."
        )
    return best_checkpoint(run) if alias == "best" else last_checkpoint(run)


def last_checkpoint(run: Path) -> Path:
    """``<run>/checkpoints/last.ckpt``, or an error that lists what the run holds."""
    last = run / CHECKPOINTS / LAST
    if not last.is_file():
        raise RunNotFoundError(
            f"Run folder {run} has no {CHECKPOINTS}/{LAST} (checkpoints there: "
            f"{listing(run / CHECKPOINTS)}). Pass --ckpt_path path/to/file.ckpt."
        )
    return last


def best_checkpoint(run: Path) -> Path:
    """The best checkpoint of ``run``: the one its ``best.json`` names, or the only one
    besides ``last.ckpt``."""
    folder = run / CHECKPOINTS
    try:
        # Recorded by name: the run folder may have moved since.
        best = folder / Path(json.loads((folder / BEST_RECORD).read_text())["best_model_path"]).name
    except (ValueError, KeyError, TypeError, OSError):
        best = None
    if best is not None and best.is_file():
        return best
    others = [p for p in folder.glob("*.ckpt") if not p.name.startswith("last")]
    if len(others) == 1:
        return others[0]
    raise RunNotFoundError(
        f"Cannot tell the best checkpoint of run folder {run} (checkpoints there: "
        f"{listing(folder)}). Pass --ckpt_path path/to/file.ckpt."
    )


def newest_best_checkpoint(root: str | os.PathLike, newest: Path) -> Path:
    """The best checkpoint of the newest run ``newest``, or an error that says why it has
    none and names the ``--ckpt_path`` of the most recent run that has one (a run
    stopped in its first epoch has only ``last.ckpt``)."""
    try:
        return best_checkpoint(newest)
    except RunNotFoundError:
        pass
    held = listing(newest / CHECKPOINTS)
    why = (
        "it was stopped before its first validation ended"
        if held in ("none", LAST)
        else "its best.json is missing and several checkpoints are there"
    )
    message = (
        f"The newest run, {newest}, has no best checkpoint ({why}; checkpoints there: {held})."
    )
    for run in trained_runs(root)[1:]:
        try:
            best = best_checkpoint(run)
        except RunNotFoundError:
            continue
        raise RunNotFoundError(
            f"{message} The most recent run that has one is {run}: pass --ckpt_path {best}"
        )
    raise RunNotFoundError(
        f"{message} No other run has one: pass --ckpt_path last for its last.ckpt, or train again."
    )


def best_record(best: Path, score: float | None, monitor: str | None, mode: str) -> str:
    """The text of ``best.json`` for the best checkpoint ``best``."""
    record = {"best_model_path": best.name, "best_model_score": score, "monitor": monitor}
    return json.dumps({**record, "mode": mode}, indent=1) + "\n"
