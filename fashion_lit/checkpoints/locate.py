"""Where a checkpoint is: ``best``, ``last``, a path or a URL, turned into one local file.

Lightning resolves ``ckpt_path="best"``/``"last"`` from the ModelCheckpoint callback of
the *current* process only, so ``test --ckpt_path last`` in a fresh process would test
untrained weights. Here they are found in the run folders on disk instead: in the run
that the config names (its logger's ``version``, as a trial's or an evaluation's saved
config does), else in the most recent run, the one whose ``checkpoints/`` folder changed
last; the best checkpoint is the one the run's ``checkpoints/best.json`` names (written
by :class:`RunCheckpoint`).

A URL is downloaded to a temporary file first, so that it is read exactly like a local
file (safely, see :mod:`fashion_lit.checkpoints.reading`); Lightning's own URL loading
would unpickle it with ``weights_only=False``. Only ``http(s)://`` and ``file://`` URLs
are accepted, and a redirect may only lead to another ``http(s)://`` URL. A path is a
URL only if it has a scheme followed by ``://``: a folder named ``http_runs/`` is a folder.
"""

import atexit
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fashion_lit.checkpoints.errors import CheckpointNotFoundError

#: The folder of the run folders, as the CLI's TensorBoardLogger lays them out.
RUNS_ROOT = "lightning_logs"
LAST = "last.ckpt"
#: Beside the checkpoints of a run: which of them is the best, and by which metric.
BEST_RECORD = "best.json"
ALIASES = ("best", "last")
DOWNLOAD_TIMEOUT_S = 60
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")


def runs_root(config: Mapping[str, Any] | Any) -> Path:
    """The folder holding the run folders, as a fit configuration's logger lays them out.

    ``config`` is a subcommand's parsed configuration or a config file's contents: its
    ``trainer.logger.init_args`` (``save_dir``/``name``), else ``trainer.default_root_dir``.
    """
    trainer = _child(config, "trainer")
    init_args = _child(_child(trainer, "logger"), "init_args")
    if _child(init_args, "save_dir") is not None:
        return Path(_child(init_args, "save_dir")) / (_child(init_args, "name") or "")
    return Path(_child(trainer, "default_root_dir") or ".") / RUNS_ROOT


def named_run(config: Mapping[str, Any] | Any) -> Path | None:
    """The run folder that a configuration's logger names with its ``version``, if any.

    A tune trial's ``config.yaml`` and the ``config-<subcommand>.yaml`` of an evaluation
    name their run this way, so ``--ckpt_path best`` with such a config means that run's
    best checkpoint, not the most recent run's. The folder is TensorBoardLogger's: a
    string version is the folder's name, a number ``n`` stands for ``version_n``.
    """
    trainer = _child(config, "trainer")
    version = _child(_child(_child(trainer, "logger"), "init_args"), "version")
    if version is None:
        return None
    return runs_root(config) / (version if isinstance(version, str) else f"version_{version}")


def _child(node: Any, key: str) -> Any:
    """``node[key]`` of a mapping or a jsonargparse Namespace, else None."""
    getter = getattr(node, "get", None)
    return getter(key) if callable(getter) else None


def is_url(spec: str) -> bool:
    return _URL.match(str(spec)) is not None


def resolve(
    spec: str | os.PathLike, runs_root: str | os.PathLike = RUNS_ROOT, run: Path | None = None
) -> Path:
    """The local checkpoint file that ``spec`` names: ``best``/``last`` of ``run`` (if
    given) or of the most recent run under ``runs_root``, a ``http(s)://`` or ``file://``
    URL, or a path."""
    spec = str(spec)
    if spec in ALIASES:
        if run is None:
            run = find_latest_run(runs_root)
        elif not (run / "checkpoints").is_dir():
            raise CheckpointNotFoundError(
                f"The config names the run {run} (trainer.logger.init_args.version), which "
                "has no checkpoints/ folder. Train that run first, give another config, or "
                "pass --ckpt_path path/to/file.ckpt."
            )
        return resolve_best(run) if spec == "best" else resolve_last(run)
    match = _URL.match(spec)
    if match is None:
        return check_exists(spec, runs_root)
    scheme = match["scheme"].lower()
    if scheme == "file":
        local = urllib.request.url2pathname(urllib.parse.urlsplit(spec).path)
        return check_exists(local, runs_root)
    if scheme in ("http", "https"):
        return download(spec)
    raise CheckpointNotFoundError(
        f"{spec}: {scheme}:// URLs are not supported; give an http(s):// or file:// URL, or "
        "download the file and pass its path."
    )


def find_latest_run(runs_root: str | os.PathLike) -> Path:
    """The run folder under ``runs_root`` that most recently saved a checkpoint."""
    root = Path(runs_root)
    runs = [p.parent for p in root.glob("*/checkpoints") if p.is_dir()] if root.is_dir() else []
    if not runs:
        raise CheckpointNotFoundError(
            f"No trained run found under {root}: no folder there has a checkpoints/ "
            "subfolder. Train first (`python -m fashion_lit fit --config "
            "configs/quickstart.yaml`), or pass --ckpt_path path/to/file.ckpt."
        )
    return max(runs, key=lambda run: (run / "checkpoints").stat().st_mtime_ns)


def listing(folder: Path) -> str:
    """The checkpoint files of ``folder``, for messages."""
    files = sorted(p.name for p in folder.glob("*.ckpt"))
    return ", ".join(files) if files else "none"


def check_exists(path: str | os.PathLike, runs_root: str | os.PathLike) -> Path:
    """``path`` itself, or an error that lists the checkpoints one could pass instead."""
    path = Path(path)
    if path.is_file():
        return path
    if path.parent.is_dir() and path.parent != Path("."):
        where = f"Checkpoints in {path.parent}: {listing(path.parent)}."
    else:
        try:
            run = find_latest_run(runs_root)
            where = f"Checkpoints of the most recent run, {run}: {listing(run / 'checkpoints')}."
        except CheckpointNotFoundError:
            where = f"There is no trained run under {runs_root} either."
    raise CheckpointNotFoundError(
        f"No checkpoint file {path}. {where} Pass one of them, or --ckpt_path best|last."
    )


def resolve_last(run: Path) -> Path:
    """``<run>/checkpoints/last.ckpt``, or an error that lists what the run holds."""
    last = run / "checkpoints" / LAST
    if not last.is_file():
        raise CheckpointNotFoundError(
            f"Run folder {run} has no checkpoints/{LAST} (checkpoints there: "
            f"{listing(run / 'checkpoints')}). Pass --ckpt_path path/to/file.ckpt."
        )
    return last


def resolve_best(run: Path) -> Path:
    """The best checkpoint of ``run``: the one its ``best.json`` names, or the only one
    besides ``last.ckpt``."""
    folder = run / "checkpoints"
    record = folder / BEST_RECORD
    if record.is_file():
        try:
            # Recorded by name: the run folder may have moved since.
            best = folder / Path(json.loads(record.read_text())["best_model_path"]).name
        except (ValueError, KeyError, TypeError, OSError):
            best = None
        if best is not None and best.is_file():
            return best
    others = [p for p in folder.glob("*.ckpt") if not p.name.startswith("last")]
    if len(others) == 1:
        return others[0]
    raise CheckpointNotFoundError(
        f"Cannot tell the best checkpoint of run folder {run} (checkpoints there: "
        f"{listing(folder)}). Pass --ckpt_path path/to/file.ckpt."
    )


class _HttpRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to another http(s) URL (never ``file://`` or ``ftp://``)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.URLError(f"it redirects to {newurl}, which is not http(s)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(url: str) -> Path:
    """Download ``url`` into a temporary folder that is removed when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="fashion_lit-checkpoint-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    name = Path(urllib.parse.urlsplit(url).path).name or "checkpoint.ckpt"
    target = folder / name
    opener = urllib.request.build_opener(_HttpRedirectsOnly)
    try:
        with opener.open(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out)
    except urllib.error.HTTPError as error:
        raise CheckpointNotFoundError(
            f"Cannot download {url}: the server answered {error.code} {error.reason}."
        ) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CheckpointNotFoundError(f"Cannot download {url}: {reason}.") from error
    return target
