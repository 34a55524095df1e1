"""Pictures as FashionMNIST images: 1×28×28, light garment on a dark background, in [0, 1].

FashionMNIST's images are product photos on white, trimmed, fitted into 28×28, made gray
and negated. A picture goes the same way: reduced while it is decoded (so a large one
costs little memory) and turned upright by its EXIF orientation; laid on white and made
gray over the full range of its mode; negated if its border is light; fitted into 28×28,
centred on black. A 28×28 PNG of a test image therefore gives exactly that image's tensor.

Read: :data:`FORMATS`, judged by content for a file and by :data:`IMAGE_SUFFIXES` in a
folder; regular files only (a FIFO would block the reader). Of several frames the first
is used, with a note. Refused with :class:`ImageError`: other formats, damaged files
(their pixels or their metadata: an orientation that cannot be read would turn the
garment silently), and more than :data:`MAX_PIXELS` pixels, judged from the header
before decoding.
"""

import io
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import ExifTags, Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset

from fashion_lit.batches import predict_item

SIDE = 28

#: Pillow's names of the formats read, and the same for people.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
FORMAT_NAMES = "PNG, JPEG, GIF, BMP, TIFF or WebP"

#: The file name suffixes of those formats, as Pillow registers them.
IMAGE_SUFFIXES = tuple(
    sorted(suffix for suffix, format in Image.registered_extensions().items() if format in FORMATS)
)

#: The most pixels a picture may have (a 7,300×5,500 photo), judged from its header.
MAX_PIXELS = 40_000_000

#: Pictures are reduced to no less than this many pixels a side before being converted:
#: eight times the final side, so that the last area-averaging step still has data.
WORKING_SIDE = 8 * SIDE

_SHRINK = (
    f"pictures of up to {MAX_PIXELS // 1_000_000} megapixels are read. Shrink it first; it "
    "becomes 28×28 anyway."
)

#: The mode each picture is brought to before it is reduced, when it is not one of
#: L, LA, RGB, RGBA, I (integers, read on the 16-bit scale) or F (floating point).
_WORKING_MODES = {"1": "L", "PA": "RGBA", "La": "LA", "RGBa": "RGBA"}
_WORKING_MODES.update(dict.fromkeys(("P", "CMYK", "YCbCr", "LAB", "HSV"), "RGB"))
_WORKING_MODES.update(dict.fromkeys(("I;16", "I;16L", "I;16B", "I;16N"), "I"))

#: The largest value of each one-band mode, which becomes 1.
_WHITE = {"F": 1.0, "I": 65535.0, "L": 255.0}

#: What makes a picture upright, by its EXIF orientation: ``ImageOps.exif_transpose``'s
#: table. That function is not used, as it parses the metadata again and writes it back.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageError(ValueError):
    """A picture file that is missing, unreadable, not a picture, or too large."""


def find_images(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The picture files named by ``paths``, in that order (a folder's files with an
    :data:`IMAGE_SUFFIXES` name, sorted); an :class:`ImageError` names every bad path."""
    files, problems = _scan(paths)
    if problems:
        raise _refusal(problems)
    return files


def _scan(paths: Sequence[str | os.PathLike]) -> tuple[list[Path], list[str]]:
    """The files named by ``paths``, and what is wrong with the others."""
    files: list[Path] = []
    problems: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                problems.append(
                    f"{path} holds no {FORMAT_NAMES} pictures ({', '.join(IMAGE_SUFFIXES)})."
                )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder.")
    return files, problems


def _refusal(problems: Sequence[str]) -> ImageError:
    """One error for every problem found: each bad file is named, not just the first."""
    if len(problems) == 1:
        return ImageError(problems[0])
    listed = "\n".join(f"  - {problem}" for problem in problems)
    return ImageError(
        f"{len(problems)} pictures cannot be used; fix or remove them, then run again:\n{listed}"
    )


def to_fashion_mnist(image: Image.Image, name: str = "the picture") -> Tensor:
    """A picture converted the way FashionMNIST's were made (see the module's docstring).

    Give ``image`` as Pillow opened it, not yet loaded, so that its size is checked and a
    JPEG reduced before decoding; ``name`` names it in messages. Raises :class:`ImageError`.
    """
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name} is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels): {_SHRINK}"
        )
    with _reading(name):
        if getattr(image, "is_animated", False):
            _say_once(
                "first frame",
                f"Note: {name} has several frames (an animation, or pages); the first is "
                "used, as for any other such picture.",
            )
        image.draft("L", _draft_size(image.size))  # a JPEG decodes straight to a smaller size
        image.load()
        upright = _UPRIGHT.get(_orientation(image, name))
        small = _reduced(_in_working_mode(image, name))
        gray, white = _grayscale(small.transpose(upright) if upright is not None else small)
        if border_mean(gray) > white / 2:
            gray = gray.point(lambda value: white - value)
        return torch.from_numpy(np.array(_fitted(gray))).div(white).unsqueeze(0)


def _orientation(image: Image.Image, name: str) -> object:
    """The EXIF orientation of ``image`` (None if it has none); an :class:`ImageError` if
    its EXIF metadata cannot be read."""
    try:
        if "exif" in image.info:  # parsed afresh: Pillow's JPEG reader parses it first for
            Image.Exif().load(image.info["exif"])  # the DPI and keeps it empty if that fails
        return image.getexif().get(ExifTags.Base.Orientation)
    except Exception as error:
        raise ImageError(
            f"{name} has damaged EXIF metadata ({str(error) or type(error).__name__}), so "
            "which way up it is cannot be read. Save the picture again with an image editor, "
            "or without its metadata."
        ) from error


@contextmanager
def _reading(name: str) -> Iterator[None]:
    """Pillow's errors while reading or converting a picture, as :class:`ImageError`.

    Pillow raises exceptions of many types on damaged data (its own fuzzers catch
    ``Exception``), and not only while decoding: EXIF metadata is parsed when first asked
    for, after the pixels. So the whole conversion is guarded, and all exceptions are
    caught there.
    """
    try:
        yield
    except ImageError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageError(f"{name} is too large ({error}): {_SHRINK}") from error
    except UnidentifiedImageError as error:
        raise ImageError(f"{name} is not a {FORMAT_NAMES} picture.") from error
    except Exception as error:
        raise ImageError(
            f"Cannot read the image {name}: {str(error) or type(error).__name__}."
        ) from error


_said: set[str] = set()


def _say_once(topic: str, note: str) -> None:
    """Print ``note`` to stderr, unless a note on ``topic`` was printed before."""
    if topic not in _said:
        _said.add(topic)
        print(note, file=sys.stderr)


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size to ask a JPEG decoder for: :data:`WORKING_SIDE` on the longer side."""
    longer = max(size)
    return tuple(max(1, side * WORKING_SIDE // longer) for side in size)


def _in_working_mode(image: Image.Image, name: str) -> Image.Image:
    """``image`` in L, LA, RGB, RGBA, I or F, with its transparency as an alpha band."""
    mode = image.mode
    if "transparency" in image.info and mode in ("L", "RGB", "P"):
        mode = "LA" if mode == "L" else "RGBA"
    mode = _WORKING_MODES.get(mode, mode)
    if mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        raise ImageError(
            f"{name} has the colour mode {image.mode}, which is not read; save it as RGB "
            "or grayscale."
        )
    return image if mode == image.mode else image.convert(mode)


def _reduced(image: Image.Image) -> Image.Image:
    """``image`` area-averaged down to no less than :data:`WORKING_SIDE` on its longer
    side, by a whole factor (Pillow averages colours weighted by their alpha)."""
    factor = max(image.size) // WORKING_SIDE
    return image.reduce(factor) if factor >= 2 else image


def _grayscale(image: Image.Image) -> tuple[Image.Image, float]:
    """``image`` (small, in a working mode) as one floating-point band, and its white."""
    if image.mode in ("LA", "RGBA"):
        on_white = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(on_white, image.convert("RGBA"))
    if image.mode not in ("I", "F"):
        return image.convert("L").convert("F"), _WHITE["L"]
    white = _WHITE[image.mode]
    values = np.asarray(image, dtype=np.float64)
    values = np.nan_to_num(values, nan=0.0, posinf=white, neginf=0.0).clip(0.0, white)
    return Image.fromarray(values.astype(np.float32)), white


def border_mean(gray: Image.Image) -> float:
    """The mean of the outermost pixels of a one-band picture, on the picture's own scale
    (0 to 255 for an 8-bit one). Only the four edges are read: no copy of the picture."""
    width, height = gray.size
    edges = (
        (0, 0, width, 1),
        (0, height - 1, width, height),
        (0, 0, 1, height),
        (width - 1, 0, width, height),
    )
    values = [np.asarray(gray.crop(edge), dtype=np.float64).ravel() for edge in edges]
    return float(np.concatenate(values).mean())


def _fitted(gray: Image.Image) -> Image.Image:
    """``gray`` fitted into SIDE×SIDE keeping its aspect ratio, centred on black.

    (``ImageOps.pad`` does the same but fails on a picture over 56 times wider than tall,
    whose height would round to 0.)
    """
    width, height = gray.size
    scale = SIDE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = Image.Resampling.BOX if max(width, height) > SIDE else Image.Resampling.BILINEAR
    frame = Image.new("F", (SIDE, SIDE), 0.0)
    frame.paste(gray.resize(size, method), ((SIDE - size[0]) // 2, (SIDE - size[1]) // 2))
    return frame


def decode_image(data: bytes, name: str) -> Tensor:
    """Decode the bytes of a picture file and convert them with :func:`to_fashion_mnist`.

    The one conversion for ``predict`` (from disk) and ``serve`` (over HTTP), so that both
    give the same tensor. ``name`` names the picture in the :class:`ImageError` raised.
    """
    return _converted(io.BytesIO(data), name)


def _converted(stream: BinaryIO, name: str) -> Tensor:
    with _reading(name), Image.open(stream, formats=FORMATS) as image:
        return to_fashion_mnist(image, name)


def load_image(path: str | os.PathLike) -> Tensor:
    """Read a picture file and convert it as :func:`decode_image` does; an
    :class:`ImageError` also when ``path`` is not a regular file (a folder, a FIFO)."""
    try:
        # Non-blocking, so that opening a FIFO returns at once, to be refused below.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as error:
        raise ImageError(f"{path}: no such file.") from error
    except OSError as error:  # unreadable (permissions)
        raise ImageError(f"Cannot read the image {path}: {error}.") from error
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ImageError(
                f"{path} is not a regular file (a folder, a FIFO or a device); only picture "
                "files are read."
            )
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            return _converted(stream, str(path))
    finally:
        os.close(descriptor)


class ImageFiles(Dataset):
    """Picture files to predict, loaded and converted once, so that bad files are reported
    (all of them, in one error) before any prediction is made. Items are predict items
    (:mod:`fashion_lit.batches`): the 1×28×28 image and its path."""

    def __init__(self, paths: Sequence[str | os.PathLike]) -> None:
        files, problems = _scan(paths)
        images = []
        for path in files:
            try:
                images.append(load_image(path))
            except ImageError as error:
                problems.append(str(error))
        if problems:
            raise _refusal(problems)
        if not images:
            raise ImageError("No pictures to predict: the list of paths is empty.")
        self.paths = [str(p) for p in files]
        self.images = torch.stack(images)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        return predict_item(self.images[i], path=self.paths[i])
