"""Writing a file so that readers see the old version or the new one, never half of it."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_atomically(
    path: str | os.PathLike, keep_suffix: bool = True, durable: bool = False
) -> Iterator[Path]:
    """Yield a new temporary path beside ``path``; on success, rename it onto ``path``.

    The rename is atomic on one file system, so an interrupted writer (an error, Ctrl-C,
    a killed job) leaves ``path`` as it was and removes its temporary file. The file
    gets the permissions of any new file (``tempfile`` would make it private to its
    owner), and a hidden name.

    Args:
        path: the file to write.
        keep_suffix: end the temporary name with ``path``'s suffix, as some writers
            expect; otherwise it ends in ``.part``, so that no pattern such as ``*.ckpt``
            matches a file left behind by a killed process.
        durable: flush the file to disk before the rename, so that a crash of the
            machine cannot leave an empty file under ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if keep_suffix else ""
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part{suffix}")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as written:
                os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
