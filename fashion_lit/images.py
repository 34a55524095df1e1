"""Image files as FashionMNIST pictures: 1×28×28, light garment on a dark background, in [0, 1].

FashionMNIST was made from product photos on white: each was trimmed, fitted into 28×28
pixels keeping its aspect ratio, converted to grayscale and negated, so the garment is
light on black. A picture given to the classifier goes the same way:

1. its EXIF orientation is applied and transparency is laid on white, as on a product photo;
2. it is converted to grayscale;
3. it is negated when its border is light (a photo on white), judged from the mean of
   its outermost pixels, so a picture that already looks like FashionMNIST stays as it is;
4. it is fitted into 28×28 keeping the aspect ratio (area-averaged when shrunk), centred
   on black;
5. it is scaled to [0, 1] as ``ToTensor`` does for the data set (uint8 → float32 / 255,
   written out here: importing torchvision's transforms would load all of torchvision
   into every command that merely names this module's errors).

A 28×28 PNG of a test image therefore comes back as exactly that image's tensor.
"""

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset

SIDE = 28
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ImageError(ValueError):
    """An image file that is missing, unreadable or not an image."""


def find_images(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The image files named by ``paths``, in that order; a folder gives its PNG and
    JPEG files, sorted by name."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                suffixes = ", ".join(IMAGE_SUFFIXES)
                raise ImageError(f"{path} holds no PNG or JPEG files ({suffixes}).")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ImageError(f"{path}: no such file or folder.")
    return files


def to_fashion_mnist(image: Image.Image) -> Tensor:
    """A picture converted the way FashionMNIST's were made (see the module's docstring)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    gray = image.convert("L")
    if border_mean(gray) > 127.5:
        gray = ImageOps.invert(gray)
    shrinking = max(gray.size) > SIDE
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    fitted = ImageOps.pad(gray, (SIDE, SIDE), method=method, color=0)
    return gray_pixels(fitted).unsqueeze(0).float().div(255)


def gray_pixels(gray: Image.Image) -> Tensor:
    """The pixels of a grayscale picture, as a height×width uint8 tensor."""
    return torch.from_numpy(np.array(gray, dtype=np.uint8))


def border_mean(gray: Image.Image) -> float:
    """The mean of the outermost pixels of a grayscale image, 0 (black) to 255 (white)."""
    pixels = gray_pixels(gray).float()
    border = torch.cat([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return float(border.mean())


def decode_image(data: bytes, name: str) -> Tensor:
    """Decode the bytes of an image file and convert them with :func:`to_fashion_mnist`.

    The one conversion of a picture, whether it was read from disk (``predict``) or
    received over HTTP (``serve``), so that both give the same tensor. ``name`` (a path
    or an upload's file name) only names the picture in error messages.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return to_fashion_mnist(image)
    except UnidentifiedImageError as error:
        raise ImageError(
            f"{name} is not an image that Pillow can read; give PNG or JPEG files."
        ) from error
    except OSError as error:  # damaged (truncated data)
        raise ImageError(f"Cannot read the image {name}: {error}.") from error


def load_image(path: str | os.PathLike) -> Tensor:
    """Read an image file and convert it with :func:`decode_image`."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as error:
        raise ImageError(f"{path}: no such file.") from error
    except OSError as error:  # unreadable (permissions, a folder)
        raise ImageError(f"Cannot read the image {path}: {error}.") from error
    return decode_image(data, str(path))


class ImageFiles(Dataset):
    """Image files to predict, loaded and converted once, so that a bad file is reported
    before any prediction is made. Items are ``{"image": 1×28×28 tensor, "path": str}``."""

    def __init__(self, paths: Sequence[str | os.PathLike]) -> None:
        self.paths = [str(p) for p in find_images(paths)]
        self.images = torch.stack([load_image(p) for p in self.paths])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i], "path": self.paths[i]}
