"""Where a checkpoint is: ``best``, ``last``, a path or a URL, turned into one local file.

Lightning resolves ``ckpt_path="best"``/``"last"`` from the ModelCheckpoint callback of
the *current* process only, so ``test --ckpt_path last`` in a fresh process would test
untrained weights. Here they are found in the run folders on disk instead
(:func:`fashion_lit.runs.checkpoint_of`): in the run that the config names, else in the
most recent run.

A URL is downloaded to a temporary file first (:func:`fashion_lit.io.fetch.download`:
its redirects, size cap, deadline and clean-up), so that it is read exactly like a local
file (safely, see :mod:`fashion_lit.checkpoints.reading`); Lightning's own URL loading
would unpickle it with ``weights_only=False``. Only ``http(s)://`` and ``file://`` URLs
are accepted. A path is a URL only if it has a scheme followed by ``://``: a folder named
``http_runs/`` is a folder.
"""

import os
import re
import urllib.parse
import urllib.request
from pathlib import Path

from fashion_lit.checkpoints.errors import CheckpointNotFoundError
from fashion_lit.io import fetch
from fashion_lit.runs import (
    ALIASES,
    CHECKPOINTS,
    RUNS_ROOT,
    RunNotFoundError,
    checkpoint_of,
    find_latest_run,
    listing,
)

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")


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
        try:
            return checkpoint_of(spec, runs_root, run)
        except RunNotFoundError as error:
            raise CheckpointNotFoundError(str(error)) from None
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
            where = f"Checkpoints of the most recent run, {run}: {listing(run / CHECKPOINTS)}."
        except RunNotFoundError:
            where = f"There is no trained run under {runs_root} either."
    raise CheckpointNotFoundError(
        f"No checkpoint file {path}. {where} Pass one of them, or --ckpt_path best|last."
    )


def download(url: str) -> Path:
    """``url`` downloaded by :func:`fashion_lit.io.fetch.download`, or a plain error."""
    try:
        return fetch.download(url)
    except fetch.FetchError as error:
        limits = f"${fetch.MAX_DOWNLOAD_MB_ENV} MB, ${fetch.DOWNLOAD_TIMEOUT_ENV} seconds"
        raise CheckpointNotFoundError(
            f"{error} Check the URL or the limits ({limits}), or download the file another "
            "way and pass its path."
        ) from error
