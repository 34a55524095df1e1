"""Damaged pictures, made deterministically, and a run that converts each of them.

``python -m tests.helpers.picture_fuzz`` gives every picture of :func:`damaged_pictures` to
``decode_image`` and prints one JSON line per picture: its name, the outcome
(``"converted"``, ``"ImageError"`` or another exception's type and message) and the
seconds it took; then a last line with how much the process's peak memory grew. A picture
that takes more than :data:`SECONDS_PER_PICTURE` ends the process (``faulthandler``), so
that a hang shows as a missing line, not as a test that never returns.
"""

import faulthandler
import io
import json
import resource
import struct
import sys
import time
import zlib
from collections.abc import Iterator

import numpy as np
from PIL import Image

SECONDS_PER_PICTURE = 5
#: Sizes a damaged header declares: over Pillow's own limit, just over ours, just under
#: it, absurdly wide, and one pixel.
DECLARED_SIZES = ((65535, 65535), (7000, 6000), (6000, 6000), (60000, 1), (1, 1))


def encoded(image: Image.Image, format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=format, **options)
    return out.getvalue()


def seed_pictures() -> dict[str, bytes]:
    """Small, valid pictures in each format and in the modes each format has."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:40, 0:48]
    rgb_array = np.stack([x * 5, y * 6, (x + y) * 3], axis=-1).astype(np.uint8)
    rgb_array[10:30, 12:36] = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    rgb = Image.fromarray(rgb_array)
    gray16 = Image.fromarray((y * 1500 + x * 40).astype(np.uint16))
    floats = Image.fromarray(((x - 10) / 30 - y / 80).astype(np.float32))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray((x * 5).astype(np.uint8)))
    frames = [rgb.convert("P"), rgb.rotate(90).convert("P"), rgb.rotate(180).convert("P")]
    return {
        "rgb.png": encoded(rgb, "PNG"),
        "rgba.png": encoded(rgba, "PNG"),
        "palette.png": encoded(rgb.convert("P"), "PNG", transparency=0),
        "gray16.png": encoded(gray16, "PNG"),
        "rgb.jpg": encoded(rgb, "JPEG", quality=90),
        "gray.jpg": encoded(rgb.convert("L"), "JPEG"),
        "progressive.jpg": encoded(rgb, "JPEG", progressive=True),
        "still.gif": encoded(rgb.convert("P"), "GIF", transparency=3),
        "animated.gif": encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "rgb.bmp": encoded(rgb, "BMP"),
        "palette.bmp": encoded(rgb.convert("P"), "BMP"),
        "rgb.tiff": encoded(rgb, "TIFF", compression="tiff_lzw"),
        "gray16.tiff": encoded(gray16, "TIFF"),
        "float.tiff": encoded(floats, "TIFF"),
        "pages.tiff": encoded(rgb, "TIFF", save_all=True, append_images=[rgb.rotate(90)]),
        "rgb.webp": encoded(rgb, "WEBP"),
    }


def declaring(name: str, data: bytes, width: int, height: int) -> bytes | None:
    """``data`` with its header patched to declare ``width``×``height``, or None for a
    format whose header is not patched here (WebP)."""
    patched = bytearray(data)
    if name.endswith(".png"):  # IHDR comes first; its CRC is recomputed, or Pillow stops
        patched[16:24] = struct.pack(">II", width, height)
        patched[29:33] = struct.pack(">I", zlib.crc32(bytes(patched[12:29])))
    elif name.endswith(".jpg"):  # the first start-of-frame marker: FF C0 to FF C2
        at = next(
            i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2)
        )
        patched[at + 5 : at + 9] = struct.pack(">HH", height, width)
    elif name.endswith(".gif"):  # the logical screen
        patched[6:10] = struct.pack("<HH", width, height)
    elif name.endswith(".bmp"):  # the BITMAPINFOHEADER
        patched[18:26] = struct.pack("<ii", width, height)
    elif name.endswith(".tiff"):  # ImageWidth (256) and ImageLength (257) of the first IFD
        (first,) = struct.unpack_from("<I", data, 4)
        (count,) = struct.unpack_from("<H", data, first)
        for entry in range(first + 2, first + 2 + 12 * count, 12):
            tag, kind = struct.unpack_from("<HH", data, entry)
            if tag in (256, 257):
                value = width if tag == 256 else height
                struct.pack_into("<H" if kind == 3 else "<I", patched, entry + 8, value)
    else:
        return None
    return bytes(patched)


def damaged_pictures() -> Iterator[tuple[str, bytes]]:
    """Each seed picture with bytes flipped (12 ways), cut short (5 ways) and declaring
    other sizes (:data:`DECLARED_SIZES`): about three hundred pictures, the same each run."""
    for number, (name, data) in enumerate(seed_pictures().items()):
        rng = np.random.default_rng(number)
        for flip in range(12):
            damaged = bytearray(data)
            for at in rng.integers(0, len(data), size=1 + flip % 6):
                damaged[at] ^= int(rng.integers(1, 256))
            yield f"{name} flipped {flip}", bytes(damaged)
        for cut in range(5):
            yield f"{name} cut {cut}", data[: int(rng.integers(1, len(data)))]
        for width, height in DECLARED_SIZES:
            damaged = declaring(name, data, width, height)
            if damaged is not None:
                yield f"{name} declaring {width}x{height}", damaged


def _peak_memory() -> int:
    """The process's peak resident memory, in bytes (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    from fashion_lit.images import ImageError, decode_image

    for name, data in seed_pictures().items():  # warm up: libraries load their codecs
        decode_image(data, name)
    before = _peak_memory()
    for name, data in damaged_pictures():
        faulthandler.dump_traceback_later(SECONDS_PER_PICTURE, exit=True)
        started = time.perf_counter()
        try:
            decode_image(data, name)
            outcome = "converted"
        except ImageError:
            outcome = "ImageError"
        except Exception as error:  # what the test is looking for
            outcome = f"{type(error).__name__}: {error}"
        seconds = time.perf_counter() - started
        faulthandler.cancel_dump_traceback_later()
        print(json.dumps({"name": name, "outcome": outcome, "seconds": seconds}), flush=True)
    print(json.dumps({"peak_memory_growth": _peak_memory() - before}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
