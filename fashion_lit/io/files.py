"""Writing files safely: the one atomic writer, and clear errors when a file cannot be written.

Every file fashion_lit writes goes through :func:`replaced_atomically`: a reader sees the
old version or the new one, never half, and a failed writer leaves nothing. A full disk
is a :class:`NoSpaceError` naming the file, the space left and what to do, not a bare
``[Errno 28]`` that reads like a fault of whatever was being copied.
"""

import errno
import io
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

#: The errors that mean "no room for this file": a full file system, a full quota, or a
#: file larger than the process may write (``ulimit -f``).
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class OutputError(OSError):
    """A file cannot be written where it was asked for: the folder is not writable, the
    file exists and may not be replaced, or there is no room for it."""


class NoSpaceError(OutputError):
    """The file system holding a file being written has no room left for it."""

    def __init__(self, message: str, code: int | None = errno.ENOSPC) -> None:
        super().__init__(message)
        self.errno = code


def human_size(size: int) -> str:
    """``size`` bytes for people: ``"52.7 MB"``."""
    if size < 1000:
        return f"{size} bytes"
    value = size / 1000
    for unit in ("kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def no_space_error(path: str | os.PathLike, error: OSError) -> NoSpaceError:
    """The error for ``error`` (one of :data:`NO_ROOM`) raised while writing ``path``."""
    reason = error.strerror or os.strerror(error.errno or errno.ENOSPC)
    if error.errno == errno.EFBIG:
        advice = (
            "the file system, or this process's file-size limit (`ulimit -f`), allows no "
            "larger file. Raise that limit, or write to another disk."
        )
    else:
        # The nearest folder that is still there: a failed run removes its own.
        folder = next((p for p in Path(path).parents if p.is_dir()), Path(path).parent)
        try:
            free = f"{human_size(shutil.disk_usage(folder).free)} free in {folder}"
        except OSError:
            free = f"free space in {folder} unknown"
        advice = f"{free}. Free some space there, or write to another disk."
    return NoSpaceError(f"Cannot write {path}: {reason}; {advice}", error.errno)


def file_being_written(error: OSError) -> str | None:
    """The file whose writing raised ``error``: its ``filename``, else the name of the
    innermost file object in its traceback, for a ``write`` or ``close`` that fails (as
    on a full disk) names no file. None if there is none.

    Libraries that write files of their own (TensorBoard's event writer, Lightning's
    ``hparams.yaml``, jsonargparse's ``config.yaml``) let such an error through; this
    names the file for them, as the error itself does not.
    """
    if error.filename is not None:
        return os.fsdecode(error.filename)
    frames = []
    traceback = error.__traceback__
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            if isinstance(value, io.IOBase):  # fsspec's local files keep their name as path
                name = getattr(value, "name", None) or getattr(value, "path", None)
                if isinstance(name, (str, bytes)):  # TensorBoard's names are bytes
                    return os.fsdecode(name)
    return None


def write_from_memory(path: str | os.PathLike, write: Callable[[BinaryIO], Any]) -> None:
    """Have ``write`` write into memory, then write that into ``path``.

    For writers that do not report the file system's errors as they are: ``torch.save``
    and ``torch.export.save`` turn a full disk into ``RuntimeError: [enforce fail at
    inline_container.cc]``, or abort the process (the error is thrown again in a C++
    destructor). Written by Python, a full disk is ``[Errno 28]``, which
    :func:`replaced_atomically` reports as a :class:`NoSpaceError`. Lightning's own
    checkpoint save goes through memory in the same way.
    """
    buffer = io.BytesIO()
    write(buffer)
    with open(path, "wb") as file:
        file.write(buffer.getbuffer())


def _new_temporary(path: Path, keep_suffix: bool) -> Path:
    """Create an empty, hidden, uniquely named file beside ``path``; return its path."""
    suffix = path.suffix if keep_suffix else ""
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part{suffix}")
    # Mode 0o666 (less the umask), as for any new file; tempfile would make it private.
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    return temporary


@contextmanager
def replaced_atomically(
    path: str | os.PathLike, keep_suffix: bool = True, durable: bool = False
) -> Iterator[Path]:
    """Yield a new temporary path beside ``path``; on success, rename it onto ``path``.

    The rename is atomic, so an interrupted writer leaves ``path`` as it was (and no
    temporary file). A full disk raises :class:`NoSpaceError`.

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
    try:
        temporary = _new_temporary(path, keep_suffix)
    except OSError as error:
        raise (no_space_error(path, error) if error.errno in NO_ROOM else error) from error
    try:
        yield temporary
        if durable:
            with open(temporary, "rb+") as written:
                os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, NoSpaceError):
            # Of the files written together (export's two), only the one that failed.
            if error.errno in NO_ROOM and file_being_written(error) in (None, str(temporary)):
                raise no_space_error(path, error) from error
        raise


def check_writable(
    path: str | os.PathLike, option: str, overwrite_option: str | None = None
) -> None:
    """Make sure that ``path`` can be written, before any work is done to produce it, or
    raise :class:`OutputError` naming ``option`` (``--prediction.output``).

    A temporary file is created beside it and removed: the only test that answers for
    every reason (``os.access`` says yes to root). With ``overwrite_option``
    (``--prediction.overwrite true``), an existing file is refused, naming that option.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; name a file in it instead.")
    if overwrite_option is not None and path.exists():
        raise OutputError(
            f"{option} {path} already exists; pass {overwrite_option} to replace it, or name "
            "another file."
        )
    _check_can_create(path, option, path, "a file in a folder")


def check_writable_folder(
    folder: str | os.PathLike, option: str, value: str | os.PathLike | None = None
) -> None:
    """Create ``folder`` if it is missing and make sure that files can be created in it,
    before any work is done there, or raise :class:`OutputError` naming ``option`` and
    its ``value`` (``folder`` itself unless given: ``data.data_dir data`` for the folder
    ``data/FashionMNIST/raw``)."""
    folder = Path(folder)
    _check_can_create(folder / "probe", option, folder if value is None else value, "a folder")


def _check_can_create(path: Path, option: str, value: str | os.PathLike, what: str) -> None:
    """Create ``path``'s folder and a temporary file beside ``path``, and remove the file;
    an :class:`OutputError` naming ``option`` and ``value``, and saying to choose ``what``
    one can write to, if that fails."""
    try:
        not_a_folder = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if not_a_folder is not None:
            raise OutputError(
                f"{option} {value} cannot be written: {not_a_folder} is a file, not a folder."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        _new_temporary(path, keep_suffix=True).unlink()
    except OutputError:
        raise
    except OSError as error:  # exists() raises too, for a name that is too long
        if error.errno in NO_ROOM:
            raise no_space_error(value, error) from error
        raise OutputError(
            f"{option} {value} cannot be written: {error.strerror or error}. Choose {what} "
            "you can write to."
        ) from error
