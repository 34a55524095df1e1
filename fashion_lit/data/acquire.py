"""Acquiring the four FashionMNIST files into ``<data_dir>/FashionMNIST/raw``, verified.

That folder layout is torchvision's, so ``torchvision.datasets.FashionMNIST`` reads the
result directly. For each file: a copy already in place is kept if it passes the full
check; otherwise the sources are tried in order, each file being written to a temporary
file, verified, then renamed into place. A lock on the folder keeps concurrent processes
(DDP ranks, two terminals) apart, and a killed acquisition leaves only temporary files,
which the next one removes.
"""

import gzip
import hashlib
import os
import secrets
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from urllib.error import HTTPError, URLError

from filelock import FileLock, Timeout
from tqdm import tqdm

from fashion_lit.data.checksums import load_checksums
from fashion_lit.data.facts import DEBIAN_DIR, FILES, UPSTREAM_MIRRORS, IdxFile
from fashion_lit.data.sources import NotThere, Opened, folder_of, is_network, open_file
from fashion_lit.data.verify import CorruptFileError, VerdictRecord, check_content, check_shape

#: Environment variable holding the sources to try, separated by commas.
SOURCES_ENV = "FASHION_LIT_SOURCES"

#: Debian's package folder, then torchvision's upstream mirror.
DEFAULT_SOURCES: tuple[str, ...] = (DEBIAN_DIR, *UPSTREAM_MIRRORS)

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
    """The cheap check of the files in place (header and size), for every ``setup``.

    Raises:
        DataNotFoundError: a file is missing.
        CorruptFileError: a file is truncated or garbled.
    """
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
    timeout: float = 30.0,
    retries: int = 2,
) -> Path:
    """Make sure the four verified files are in ``data_dir``'s raw folder; return it.

    Args:
        data_dir: the data root (``FashionMNIST/raw`` is created below it).
        sources: folders, ``file://`` or ``http(s)://`` mirrors, tried in order; by
            default ``$FASHION_LIT_SOURCES`` (comma-separated), else Debian's folder then
            torchvision's mirror.
        download: whether http(s) sources may be used; ``False`` never touches the network.
        checksums: a JSON manifest of the expected files (see
            :mod:`fashion_lit.data.checksums`); ``None`` means the real FashionMNIST.
        timeout: seconds a network source may stay silent before it counts as failed.
        retries: further attempts at a network source after a transient failure.

    Raises:
        DataNotFoundError: no source had some file; the message says where it looked.
        DataVerificationError: some file failed verification and no source had a good one.
    """
    files = load_checksums(checksums)
    sources = default_sources() if sources is None else [str(s) for s in sources]
    for source in sources:
        folder_of(source)  # rejects what is neither a folder nor a URL, before any work
    raw = raw_folder(data_dir)
    raw.mkdir(parents=True, exist_ok=True)
    chain = _Chain(sources, download, timeout, retries)
    failures: dict[IdxFile, list[_Outcome]] = {}
    with _exclusive(raw):
        for leftover in raw.glob(".*.part"):  # from a killed acquisition; never trusted
            leftover.unlink(missing_ok=True)
        record = VerdictRecord(raw)
        for file in files:
            outcomes = _acquire_one(file, raw / file.name, chain, record)
            if outcomes:
                failures[file] = outcomes
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
    timeout: float
    retries: int
    unreachable: dict[str, str] = field(default_factory=dict)

    def install(self, file: IdxFile, target: Path) -> tuple[str | None, list[_Outcome]]:
        """Install ``file`` at ``target`` from the first source with a good copy.

        Returns that source (None if none had one) and what the sources before it gave.
        """
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
            outcome = self._try(source, file, target, network)
            if outcome is None:
                return source, outcomes
            outcomes.append(outcome)
        return None, outcomes

    def _try(self, source: str, file: IdxFile, target: Path, network: bool) -> _Outcome | None:
        """One source, retried after a transient network failure; None on success."""
        attempts = 1 + (self.retries if network else 0)
        for attempt in range(attempts):
            try:
                with open_file(source, file, self.timeout) as opened:
                    _install(opened, file, target)
                return None
            except NotThere as error:
                return _Outcome(source, str(error))
            except CorruptFileError as error:
                return _Outcome(source, "rejected", str(error))
            except (OSError, HTTPException) as error:
                failure = error
                if attempt + 1 < attempts:
                    time.sleep(0.5 * (attempt + 1))
        if network and _is_unreachable(failure):
            self.unreachable[source] = f"unreachable: {_describe(failure)}"
            return _Outcome(source, self.unreachable[source])
        return _Outcome(source, f"failed: {_describe(failure)}")


def _acquire_one(
    file: IdxFile, target: Path, chain: _Chain, record: VerdictRecord
) -> list[_Outcome]:
    """Put a verified ``file`` at ``target``; return what each place gave if that failed."""
    outcomes = []
    if target.is_file():
        if record.vouches_for(target, file):
            return []
        try:
            check_content(target, file)
            record.remember(target, file)
            return []
        except CorruptFileError as error:
            outcomes.append(
                _Outcome(
                    str(target),
                    f"failed verification; moved aside to {target.name}.rejected",
                    str(error),
                )
            )
    replacing = bool(outcomes)
    source, tried = chain.install(file, target)
    outcomes += tried
    if source is not None:
        record.remember(target, file)
        note = " (it replaces the copy that failed verification)" if replacing else ""
        _say(f"{file.name}: verified, from {source}{note}")
        return []
    if target.is_file():  # failed verification: never let torchvision read it
        os.replace(target, target.with_name(target.name + ".rejected"))
    return outcomes


def _is_unreachable(error: BaseException) -> bool:
    """A failure to reach the source at all, as opposed to an answer about one file."""
    return isinstance(error, TimeoutError) or (
        isinstance(error, URLError) and not isinstance(error, HTTPError)
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def _install(opened: Opened, file: IdxFile, target: Path) -> None:
    """Copy (decompressing a ``.gz``) into a temporary file, verify it, rename it to target.

    The rename is atomic: a process killed at any point leaves ``target`` as it was, plus
    at most a ``.part`` file.
    """
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    action = (
        "Downloading"
        if is_network(opened.location)
        else ("Decompressing" if opened.compressed else "Copying")
    )
    digest = hashlib.sha256()
    try:
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
            os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as out,
        ):
            metered = _Metered(opened, bar)
            reader = gzip.GzipFile(fileobj=metered) if opened.compressed else metered
            try:
                while chunk := reader.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            except (EOFError, zlib.error, gzip.BadGzipFile) as error:
                raise CorruptFileError(
                    f"{opened.location} is not a complete gzip archive ({error})."
                ) from error
        gz_md5 = metered.md5.hexdigest() if opened.compressed else None
        check_content(temporary, file, opened.location, digest.hexdigest(), gz_md5)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


class _Metered:
    """A stream's reader that moves a progress bar, hashes what it reads (md5), and
    notices a transfer that ends before the size the source announced."""

    def __init__(self, opened: Opened, bar: tqdm) -> None:
        self.opened = opened
        self.bar = bar
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.opened.stream.read(size)
        if chunk:
            self.md5.update(chunk)
            self.count += len(chunk)
            self.bar.update(len(chunk))
        elif size and self.opened.total is not None and self.count < self.opened.total:
            raise ConnectionError(
                f"the transfer stopped after {self.count} of {self.opened.total} bytes"
            )
        return chunk


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
