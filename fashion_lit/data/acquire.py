"""Acquiring the four FashionMNIST files into ``<data_dir>/FashionMNIST/raw``.

That folder layout is torchvision's, so ``torchvision.datasets.FashionMNIST`` reads the
result directly. Sources are tried in order: files already in place, local mirror
folders (Debian's ``dataset-fashion-mnist`` folder by default), then torchvision's own
download from the upstream mirror.
"""

import gzip
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from torchvision.datasets import FashionMNIST

from fashion_lit.data.facts import DEBIAN_DIR, FILES, IdxFile

#: Environment variable holding local mirror folders, separated by ``os.pathsep``.
MIRROR_ENV = "FASHION_LIT_MIRROR"


class DataNotFoundError(FileNotFoundError):
    """No source could provide the data set's files."""


def raw_folder(data_dir: str | os.PathLike) -> Path:
    """Where the decompressed IDX files live (torchvision's layout)."""
    return Path(data_dir) / "FashionMNIST" / "raw"


def default_mirror_dirs() -> list[str]:
    """The local mirrors to try: ``$FASHION_LIT_MIRROR`` if set, else Debian's folder."""
    from_env = os.environ.get(MIRROR_ENV)
    if from_env:
        return [d for d in from_env.split(os.pathsep) if d]
    return [DEBIAN_DIR]


def missing_files(data_dir: str | os.PathLike) -> list[IdxFile]:
    """The files not yet present in ``data_dir``'s raw folder."""
    raw = raw_folder(data_dir)
    return [f for f in FILES if not (raw / f.name).is_file()]


def _install_atomically(write, target: Path) -> None:
    """Write ``target`` through ``write(file)`` into a temporary file, then rename it.

    A process killed half-way leaves only a temporary file, never a partial ``target``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _copy_from_mirror(file: IdxFile, mirror: Path, target: Path) -> bool:
    """Copy (decompressing a ``.gz``) one file from a local mirror; False if absent."""
    archive, plain = mirror / file.archive, mirror / file.name
    if archive.is_file():
        def write(out):
            with gzip.open(archive, "rb") as src:
                shutil.copyfileobj(src, out)
    elif plain.is_file():
        def write(out):
            with open(plain, "rb") as src:
                shutil.copyfileobj(src, out)
    else:
        return False
    _install_atomically(write, target)
    return True


def acquire(
    data_dir: str | os.PathLike = "data",
    mirror_dirs: Sequence[str | os.PathLike] | None = None,
    download: bool = True,
) -> Path:
    """Make sure the four files are in ``data_dir``'s raw folder; return that folder.

    Args:
        data_dir: the data root (``FashionMNIST/raw`` is created below it).
        mirror_dirs: local folders holding the ``.gz`` (or decompressed) files;
            ``None`` means :func:`default_mirror_dirs`.
        download: whether torchvision may fetch what is still missing from the internet.

    Raises:
        DataNotFoundError: no source had the files; the message says where it looked.
    """
    raw = raw_folder(data_dir)
    mirrors = [Path(m) for m in (default_mirror_dirs() if mirror_dirs is None else mirror_dirs)]
    for file in missing_files(data_dir):
        for mirror in mirrors:
            if _copy_from_mirror(file, mirror, raw / file.name):
                break
    download_error = None
    if missing_files(data_dir) and download:
        try:
            FashionMNIST(str(data_dir), train=True, download=True)
        except (OSError, RuntimeError) as error:  # torchvision wraps network errors
            download_error = error
    still_missing = missing_files(data_dir)
    if still_missing:
        raise DataNotFoundError(
            _not_found_message(raw, mirrors, download, download_error, still_missing)
        ) from download_error
    return raw


def _not_found_message(
    raw: Path,
    mirrors: Sequence[Path],
    download: bool,
    download_error: BaseException | None,
    missing: Sequence[IdxFile],
) -> str:
    looked = "\n".join(f"  - {m}" for m in mirrors) or "  (no mirror folders configured)"
    names = "\n".join(f"  - {f.archive} (or {f.name})" for f in missing)
    if not download:
        network = "downloading is off (data.download: false)"
    elif download_error is not None:
        network = f"torchvision's download failed ({download_error})"
    else:
        network = "torchvision's download was tried as well"
    return (
        f"FashionMNIST files are missing from {raw}.\n"
        f"Looked in these mirror folders:\n{looked}\n"
        f"and {network}. Missing:\n{names}\n"
        "To fix: on Debian/Ubuntu run `sudo apt-get install dataset-fashion-mnist`; "
        f"or copy the files into {raw} or into a folder named by ${MIRROR_ENV}; "
        "or allow downloading (data.download: true) on a machine with internet access."
    )
