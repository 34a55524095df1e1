"""Checksum manifests: the expected files of a data set that is not the real FashionMNIST.

A data set of one's own in FashionMNIST's format is verified as the real one is, against
a JSON manifest that replaces the built-in table::

    {"train-images-idx3-ubyte": {"sha256": "…", "shape": [640, 28, 28], "size": 501776},
     "train-labels-idx1-ubyte": {…}, "t10k-images-idx3-ubyte": {…}, "t10k-labels-idx1-ubyte": {…}}

``write_checksums`` writes one from a folder of decompressed files.
"""

import json
import os
from pathlib import Path

from fashion_lit.data.facts import FILES, IdxFile
from fashion_lit.data.verify import read_shape, sha256_of
from fashion_lit.io.files import replaced_atomically

NAMES = tuple(file.name for file in FILES)


def load_checksums(path: str | os.PathLike | None) -> tuple[IdxFile, ...]:
    """The expected files: the manifest at ``path``, or the real FashionMNIST's if None."""
    if path is None:
        return FILES
    try:
        manifest = json.loads(Path(path).read_text())
        files = tuple(
            IdxFile(name, tuple(manifest[name]["shape"]), manifest[name]["sha256"])
            for name in NAMES
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"data.checksums: cannot read the manifest {path} ({error!r}). It must be JSON "
            f"with an entry {{'sha256': …, 'shape': […]}} for each of {', '.join(NAMES)}; "
            "`fashion_lit.data.checksums.write_checksums` writes one from your files."
        ) from error
    for file in files:
        stated = manifest[file.name].get("size", file.size)
        if stated != file.size:
            raise ValueError(
                f"data.checksums: in {path}, {file.name} has size {stated}, but its shape "
                f"{file.shape} makes it {file.size} bytes."
            )
    return files


def write_checksums(folder: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Describe the four decompressed files in ``folder`` in a manifest written to ``path``."""
    folder = Path(folder)
    manifest = {}
    for name in NAMES:
        shape = read_shape(folder / name)
        file = IdxFile(name, shape, sha256_of(folder / name))
        manifest[name] = {"sha256": file.sha256, "shape": list(shape), "size": file.size}
    path = Path(path)
    with replaced_atomically(path) as temporary:
        temporary.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
