"""Acquiring the four FashionMNIST files into ``<data_dir>/FashionMNIST/raw``, verified.

torchvision's layout, so ``torchvision.datasets.FashionMNIST`` reads it. A copy in place
is kept if it passes the full check; otherwise the sources are tried in order, each file
written to a temporary file, verified, then renamed into place. A lock keeps concurrent
processes apart; a killed acquisition leaves temporary files, which the next removes.
Nothing reads more than a file's known size plus one chunk, so a gzip bomb or an endless
download cannot fill the disk; a full disk stops at once, as no fault of the source.
"""

import gzip
import hashlib
import os
import sys
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock, Timeout
from tqdm import tqdm

from fashion_lit.data.checksums import load_checksums
from fashion_lit.data.facts import DEBIAN_DIR, FILES, UPSTREAM_MIRRORS, IdxFile
from fashion_lit.data.sources import NotThere, Opened, folder_of, is_network, read_file
from fashion_lit.data.verify import CorruptFileError, VerdictRecord, check_content, check_shape
from fashion_lit.io.fetch import FetchError, TooLarge, Unreachable
from fashion_lit.io.files import (
    NoSpaceError,
    check_writable_folder,
    human_size,
    replaced_atomically,
)

#: Environment variable holding the sources to try, separated by commas.
SOURCES_ENV = "FASHION_LIT_SOURCES"

#: Debian's package folder, then torchvision's upstream mirror.
DEFAULT_SOURCES: tuple[str, ...] = (DEBIAN_DIR, *UPSTREAM_MIRRORS)

#: What is read or decompressed at a time, and so how far past a file's known size a
#: reading may go before it is stopped.
_CHUNK = 1 << 20


class DataNotFoundError(FileNotFoundError):
    """No source could provide the data set's files."""


class DataVerificationError(ValueError):
    """A file failed verification, and no source had a good copy."""


def raw_folder(data_dir: str | os.PathLike) -> Path:
    """Where the decompressed IDX files live (torchvision's layout)."""
    return Path(data_dir) / "FashionMNIST" / "raw"


def default_sources() -> list[str]:
    """The sources to try: ``$FASHION_LIT_SOURCES`` if set, else :data:`DEFAULT_SOURCES`."""
    from_env = os.environ.get(SOURCES_ENV, "")
    return [s.strip() for s in from_env.split(",") if s.strip()] or list(DEFAULT_SOURCES)


def missing_files(data_dir: str | os.PathLike, files: Sequence[IdxFile] = FILES) -> list[IdxFile]:
    """The files not yet present in ``data_dir``'s raw folder."""
    raw = raw_folder(data_dir)
    return [f for f in files if not (raw / f.name).is_file()]


def check_acquired(data_dir: str | os.PathLike, checksums: str | None = None) -> None:
    """The cheap check of the files in place (header and size), for every ``setup``: a
    :class:`DataNotFoundError` if one is missing, a ``CorruptFileError`` if one is garbled."""
    files = load_checksums(checksums)
    raw = raw_folder(data_dir)
    missing = missing_files(data_dir, files)
    command = (
        f"`python -m fashion_lit.data --data_dir {data_dir}` (or the datamodule's prepare_data)"
    )
    if missing:
        raise DataNotFoundError(
            f"FashionMNIST files are missing from {raw}: {', '.join(f.name for f in missing)}. "
            f"Run {command} to acquire them; setup never downloads."
        )
    for file in files:
        try:
            check_shape(raw / file.name, file)
        except CorruptFileError as error:
            raise CorruptFileError(
                f"{error}\nRun {command} to verify it and replace it from a source."
            ) from error


@dataclass(frozen=True)
class _Outcome:
    """What one source (or the copy in place) gave for one file."""

    where: str
    summary: str
    rejection: str | None = None  # the verification message, when the data was wrong


def acquire(
    data_dir: str | os.PathLike = "data",
    sources: Sequence[str | os.PathLike] | None = None,
    download: bool = True,
    checksums: str | os.PathLike | None = None,
) -> Path:
    """Make sure the four verified files are in ``data_dir``'s raw folder; return it.

    Args:
        data_dir: the data root (``FashionMNIST/raw`` is created below it).
        sources: folders, ``file://`` or ``http(s)://`` mirrors, tried in order; by
            default ``$FASHION_LIT_SOURCES`` (comma-separated), else Debian's folder then
            torchvision's mirror.
        download: whether http(s) sources may be used (:mod:`fashion_lit.io.fetch` reads
            them); ``False`` never touches the network.
        checksums: a JSON manifest of the expected files (see
            :mod:`fashion_lit.data.checksums`); ``None`` means the real FashionMNIST.

    Raises:
        DataNotFoundError: no source had some file; the message says where it looked.
        DataVerificationError: some file failed verification and no source had a good one.
        NoSpaceError: the disk holding ``data_dir`` is full.
        OutputError: ``data_dir`` cannot be written (read-only, or a file in the way).
    """
    files = load_checksums(checksums)
    sources = default_sources() if sources is None else [str(s) for s in sources]
    for source in sources:
        folder_of(source)  # rejects what is neither a folder nor a URL, before any work
    raw = raw_folder(data_dir)
    check_writable_folder(raw, "data.data_dir", data_dir)  # the lock and the files go there
    chain = _Chain(sources, download)
    failures: dict[IdxFile, list[_Outcome]] = {}
    with _exclusive(raw):
        for leftover in raw.glob(".*.part"):  # from a killed acquisition; never trusted
            leftover.unlink(missing_ok=True)
        record = VerdictRecord(raw)
        installed: dict[str, list[str]] = {}  # source: the names verified from it
        try:
            for file in files:
                outcomes = _acquire_one(file, raw / file.name, chain, record, installed)
                if outcomes:
                    failures[file] = outcomes
        except NoSpaceError as error:
            raise NoSpaceError(
                f"{error}\nThe sources are not at fault: the {len(files)} files take "
                f"{human_size(sum(f.size for f in files))} once decompressed. Make room for "
                "them, or acquire them into a folder on another disk (data.data_dir).",
                error.errno,
            ) from error
        for source, names in installed.items():
            _say(f"{', '.join(names)}: verified, from {source}")
    if failures:
        raise _failure(raw, files, failures, download)
    return raw


@contextmanager
def _exclusive(raw: Path) -> Iterator[None]:
    lock = FileLock(raw / ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        _say(f"Waiting for another process that is acquiring FashionMNIST into {raw}.")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _say(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass
class _Chain:
    """The sources, tried in order for each file, and those found unreachable so far."""

    sources: Sequence[str]
    download: bool
    unreachable: dict[str, str] = field(default_factory=dict)

    def install(self, file: IdxFile, target: Path) -> tuple[str | None, list[_Outcome]]:
        """Install ``file`` at ``target`` from the first source with a good copy; return
        that source (None if none had one) and what the sources before it gave."""
        outcomes = []
        for source in self.sources:
            network = is_network(source)
            if network and not self.download:
                outcomes.append(
                    _Outcome(source, "skipped: downloading is off (data.download: false)")
                )
                continue
            if source in self.unreachable:
                outcomes.append(_Outcome(source, self.unreachable[source]))
                continue
            outcome = self._try(source, file, target)
            if outcome is None:
                return source, outcomes
            outcomes.append(outcome)
        return None, outcomes

    def _try(self, source: str, file: IdxFile, target: Path) -> _Outcome | None:
        """One source; None on success, else what it gave."""
        try:
            install = partial(_install, file=file, target=target)
            read_file(source, file, install, _most_read(file))
            return None
        except (CorruptFileError, TooLarge) as error:
            return _Outcome(source, "rejected", str(error))
        except Unreachable as error:
            self.unreachable[source] = f"unreachable: {error.reason}"
            return _Outcome(source, self.unreachable[source])
        except FetchError as error:
            return _Outcome(source, error.reason)
        except NoSpaceError:  # ours, not the source's: trying further cannot help
            raise
        except (NotThere, OSError) as error:
            return _Outcome(source, str(error))


def _acquire_one(
    file: IdxFile,
    target: Path,
    chain: _Chain,
    record: VerdictRecord,
    installed: dict[str, list[str]],
) -> list[_Outcome]:
    """Put a verified ``file`` at ``target``; return what each place gave if that failed.
    A file installed anew is added to ``installed`` under its source, to be reported in
    one line with the others."""
    outcomes = []
    if target.is_file():
        if record.vouches_for(target, file):
            return []
        try:
            check_content(target, file)
            record.remember(target, file)
            return []
        except CorruptFileError as error:
            moved = f"failed verification; moved aside to {target.name}.rejected"
            outcomes.append(_Outcome(str(target), moved, str(error)))
    replacing = bool(outcomes)
    source, tried = chain.install(file, target)
    outcomes += tried
    if source is not None:
        record.remember(target, file)
        if replacing:
            _say(f"{file.name}: verified, from {source} (it replaces the copy that failed)")
        else:
            installed.setdefault(source, []).append(file.name)
        return []
    if target.is_file():  # failed verification: never let torchvision read it
        os.replace(target, target.with_name(target.name + ".rejected"))
    return outcomes


def _install(opened: Opened, file: IdxFile, target: Path) -> None:
    """Copy (decompressing a ``.gz``) into a temporary file, verify it, rename it to target:
    a process killed at any point leaves ``target`` as it was, and a ``.part`` file."""
    if opened.total is not None and opened.total > _most_read(file):
        raise CorruptFileError(
            f"{opened.location} is {opened.total} bytes, more than {_stored_as(opened, file)} "
            f"can be ({file.name} is {file.size} bytes): it was not read."
        )
    with replaced_atomically(target, keep_suffix=False) as temporary:
        sha256, gz_md5 = _copy(opened, file, temporary)
        check_content(temporary, file, opened.location, sha256, gz_md5)


def _copy(opened: Opened, file: IdxFile, temporary: Path) -> tuple[str, str | None]:
    """Write ``opened``'s content (decompressed) to ``temporary``, at most ``file.size``
    bytes of it; return the SHA-256 of what was written and the md5 of a ``.gz``."""
    action = "Decompressing" if opened.compressed else "Copying"
    action = "Downloading" if is_network(opened.location) else action
    digest = hashlib.sha256()
    written = 0
    with (
        tqdm(
            total=opened.total,
            desc=f"{action} {Path(opened.location).name}",
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=None,
            leave=False,
        ) as bar,
        open(temporary, "wb") as out,
    ):
        metered = _Metered(opened.stream, bar)
        reader = gzip.GzipFile(fileobj=metered) if opened.compressed else metered
        try:
            while chunk := reader.read(_CHUNK):
                written += len(chunk)
                if written > file.size:
                    raise CorruptFileError(
                        f"{opened.location} holds more than the {file.size} bytes of "
                        f"{file.name}: reading stopped there (a gzip bomb, or another file)."
                    )
                digest.update(chunk)
                out.write(chunk)
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise CorruptFileError(
                f"{opened.location} is not a complete gzip archive ({error})."
            ) from error
    return digest.hexdigest(), metered.md5.hexdigest() if opened.compressed else None


class _Metered:
    """A stream's reader that moves a progress bar and hashes what it reads (md5)."""

    def __init__(self, stream: BinaryIO, bar: tqdm) -> None:
        self.stream, self.bar = stream, bar
        self.md5 = hashlib.md5(usedforsecurity=False)

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.md5.update(chunk)
        self.bar.update(len(chunk))
        return chunk


def _most_read(file: IdxFile) -> int:
    """The most bytes a source's copy of ``file`` can take: its size, plus one chunk for a
    ``.gz``'s headers (deflate adds 5 bytes per 64 KiB at worst)."""
    return file.size + _CHUNK


def _stored_as(opened: Opened, file: IdxFile) -> str:
    return file.archive if opened.compressed else file.name


def _failure(
    raw: Path, files: Sequence[IdxFile], failures: dict[IdxFile, list[_Outcome]], download: bool
) -> DataNotFoundError | DataVerificationError:
    """The error for the files no source could provide: what each source gave, and the fix."""
    lines = [f"Could not acquire {', '.join(f.name for f in failures)} into {raw}."]
    rejections = [o.rejection for outcomes in failures.values() for o in outcomes if o.rejection]
    if rejections:
        lines += ["", "Rejected, because the data is not what it must be:"]
        lines += ["  " + r.replace("\n", "\n  ") for r in rejections]
    lines += ["", "Sources tried, in order:"]
    places = list(dict.fromkeys(o.where for outcomes in failures.values() for o in outcomes))
    for place in places:
        given = {
            file.name: o.summary
            for file, outcomes in failures.items()
            for o in outcomes
            if o.where == place
        }
        if len(set(given.values())) == 1 and len(given) == len(failures):
            lines.append(f"  - {place}: {next(iter(given.values()))}")
        else:
            lines.append(f"  - {place}:")
            lines += [f"      {name}: {summary}" for name, summary in given.items()]
    lines += (
        [
            "",
            "A file that fails verification is never used; a copy that was already in place is "
            "moved aside to <name>.rejected, not deleted. If a source served the wrong data, "
            "remove it from data.sources (or clear the caching proxy in front of it).",
        ]
        if rejections
        else []
    )
    lines += [
        "",
        "Expected files, each .gz or decompressed: " + ", ".join(f.archive for f in files) + ".",
        "To get them, any one of:",
        *(
            [
                "  - on Debian/Ubuntu: `sudo apt-get install dataset-fashion-mnist`, which puts "
                f"them in {DEBIAN_DIR};"
            ]
            if files == FILES
            else []
        ),
        f"  - copy them into {raw}, or into a folder listed in data.sources or ${SOURCES_ENV};",
        "  - allow downloading (data.download: true)."
        if not download
        else "  - on a machine that reaches a mirror, run `python -m fashion_lit.data` and copy "
        "the files it acquires.",
        "Then run `python -m fashion_lit.data` (or the training command) again.",
    ]
    error_type = DataVerificationError if rejections else DataNotFoundError
    return error_type("\n".join(lines))
