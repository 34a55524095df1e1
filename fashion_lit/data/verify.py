"""Checking that a file is the IDX file the table describes, cheaply or fully.

The cheap check (header and size) catches a truncated or garbled file before torchvision
fails deep inside. The full check hashes the decompressed bytes, the only way to tell
FashionMNIST from data of the same shape; its verdict is recorded beside the files, so
an unchanged file is hashed once, not on every run.
"""

import hashlib
import json
import os
import struct
from pathlib import Path

import numpy as np

from fashion_lit.data.facts import MNIST_GZ_MD5, MNIST_LABEL_ENDS, MNIST_PIXEL_MEAN, IdxFile
from fashion_lit.io.files import replaced_atomically

_UBYTE = 0x08  # the IDX type code of unsigned bytes
_CHUNK = 1 << 20


class CorruptFileError(ValueError):
    """A file is not the IDX file it should be: truncated, garbled, or other data."""


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_shape(path: str | os.PathLike, shown_as: str | None = None) -> tuple[int, ...]:
    """The shape an IDX file of unsigned bytes declares in its header."""
    shown_as = shown_as or str(path)
    with open(path, "rb") as stream:
        head = stream.read(4)
        if len(head) < 4 or head[:2] != b"\0\0" or head[2] != _UBYTE or not 1 <= head[3] <= 4:
            raise CorruptFileError(
                f"{shown_as} is not an IDX file of unsigned bytes: it starts with "
                f"{head.hex(' ') or 'nothing'}, not 00 00 08 followed by the rank."
            )
        dims = stream.read(4 * head[3])
    if len(dims) < 4 * head[3]:
        raise CorruptFileError(f"{shown_as} is truncated inside its IDX header.")
    return struct.unpack(f">{head[3]}I", dims)


def check_shape(path: str | os.PathLike, file: IdxFile, shown_as: str | None = None) -> None:
    """The cheap check: the header declares ``file.shape`` and the size matches it."""
    shown_as = shown_as or str(path)
    shape = read_shape(path, shown_as)
    if shape != file.shape:
        raise CorruptFileError(
            f"{shown_as} holds an array of shape {shape}, but {file.name} must have shape "
            f"{file.shape}."
        )
    size = os.path.getsize(path)
    if size != file.size:
        state = "truncated" if size < file.size else "longer than its header says"
        raise CorruptFileError(
            f"{shown_as} is {state}: {size} bytes, expected {file.size} "
            f"(a {file.header_size}-byte header and {file.size - file.header_size} bytes of data)."
        )


def check_content(
    path: str | os.PathLike,
    file: IdxFile,
    shown_as: str | None = None,
    sha256: str | None = None,
    gz_md5: str | None = None,
) -> None:
    """The full check: the cheap one, then the SHA-256 of the decompressed bytes (``sha256``
    if the caller computed it while writing; ``gz_md5``, the archive's, recognises MNIST)."""
    shown_as = shown_as or str(path)
    check_shape(path, file, shown_as)
    actual = sha256 or sha256_of(path)
    if actual == file.sha256:
        return
    message = (
        f"{shown_as} is not the expected {file.name}:\n"
        f"  expected sha256 {file.sha256}, {file.size} bytes\n"
        f"  found    sha256 {actual}, {os.path.getsize(path)} bytes"
    )
    if is_mnist(path, file, gz_md5):
        message += (
            f"\n  It is MNIST's {file.name} (handwritten digits), not FashionMNIST's: a mirror "
            "or caching proxy serves MNIST under FashionMNIST's file names."
        )
    raise CorruptFileError(message)


def is_mnist(path: str | os.PathLike, file: IdxFile, gz_md5: str | None = None) -> bool:
    """Whether a file of FashionMNIST's shape holds MNIST's data instead: known by its
    archive's md5, its first and last ten labels, or its mean pixel (to within 1e-4)."""
    if gz_md5 is not None and MNIST_GZ_MD5.get(file.archive) == gz_md5:
        return True
    values = np.fromfile(path, dtype=np.uint8, offset=file.header_size)
    if file.name in MNIST_LABEL_ENDS:
        first, last = MNIST_LABEL_ENDS[file.name]
        return tuple(values[:10]) == first and tuple(values[-10:]) == last
    if file.name in MNIST_PIXEL_MEAN and values.size:
        mean = values.sum(dtype=np.int64) / (255 * values.size)
        return abs(mean - MNIST_PIXEL_MEAN[file.name]) < 1e-4
    return False


class VerdictRecord:
    """The full checks that passed, kept in ``<raw>/.verified.json``: a file is vouched
    for while its size, mtime, inode and expected hash are those it was checked with. An
    unreadable record only means that the files are hashed again."""

    def __init__(self, raw: Path) -> None:
        self.path = raw / ".verified.json"
        try:
            self.entries: dict = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    @staticmethod
    def _stamp(path: Path, file: IdxFile) -> dict:
        stat = path.stat()
        return {
            "sha256": file.sha256,
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "inode": stat.st_ino,
        }

    def vouches_for(self, path: Path, file: IdxFile) -> bool:
        try:
            return self.entries.get(file.name) == self._stamp(path, file)
        except OSError:
            return False

    def remember(self, path: Path, file: IdxFile) -> None:
        self.entries[file.name] = self._stamp(path, file)
        with replaced_atomically(self.path, keep_suffix=False) as temporary:
            temporary.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
