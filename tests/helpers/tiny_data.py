"""A tiny FashionMNIST-shaped data set, and the CLI options that use it.

A few hundred generated 28×28 images whose class is drawn into the picture (a bright
band at a class-dependent height), so that a single epoch learns something and the tests
run in seconds. The tiny set is verified like the real one, against its own checksum
manifest.
"""

import gzip
import struct
from pathlib import Path

import numpy as np

from fashion_lit.data.checksums import write_checksums

TINY_TRAIN, TINY_TEST, TINY_VAL = 640, 160, 128


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    """Write a uint8 array in the IDX format FashionMNIST uses (optionally gzipped)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(path, "wb") as out:
            out.write(payload)
    else:
        path.write_bytes(payload)


def tiny_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` noisy images whose label is the height of a bright band."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=count).astype(np.uint8)
    images = rng.integers(0, 60, size=(count, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels, strict=True):
        image[2 + 2 * label : 5 + 2 * label, 4:24] = 255
    return images, labels


def write_tiny_mirror(folder: Path) -> Path:
    """A folder laid out like Debian's: the four FashionMNIST ``.gz`` files.

    Beside them: ``decompressed/``, the same files decompressed, and ``checksums.json``,
    their manifest.
    """
    for prefix, count, seed in (("train", TINY_TRAIN, 1), ("t10k", TINY_TEST, 2)):
        images, labels = tiny_images(count, seed)
        for name, array in (
            (f"{prefix}-images-idx3-ubyte", images),
            (f"{prefix}-labels-idx1-ubyte", labels),
        ):
            write_idx(folder / f"{name}.gz", array)
            write_idx(folder / "decompressed" / name, array, compress=False)
    write_checksums(folder / "decompressed", folder / "checksums.json")
    return folder


def tiny_options(mirror: Path, checksums: Path) -> list[str]:
    """Options that point any subcommand at the tiny data set, on the CPU, quietly."""
    return [
        f"--data.sources=[{mirror}]",
        f"--data.checksums={checksums}",
        "--data.download=false",
        f"--data.val_size={TINY_VAL}",
        "--data.batch_size=32",
        "--trainer.accelerator=cpu",
        "--trainer.devices=1",
        "--trainer.max_epochs=2",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
    ]
