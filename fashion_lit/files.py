"""Writing a file so that readers see the old version or the new one, never half of it."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_atomically(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary path beside ``path``; on success, rename it onto ``path``.

    The rename is atomic on one file system, so an interrupted writer (an error, Ctrl-C,
    a killed job) leaves ``path`` as it was and removes its temporary file. The temporary
    name keeps the suffix (some writers check it) and the file gets the permissions of
    any new file (``tempfile`` would make it private to its owner).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part{path.suffix}")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
