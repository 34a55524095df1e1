"""Damaged pictures, made deterministically, and a run that converts each of them.

Pixels and headers are damaged in every format; so is metadata (EXIF, ICC profiles, XMP,
text) in the formats that carry it, where Pillow parses it apart from the pixels and,
for EXIF, only when it is first asked for.

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
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

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


#: An XMP packet that says, as cameras and editors write it, which way up the picture is.
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)


def camera_exif() -> bytes:
    """EXIF as a camera writes it: orientation, make, resolution (rationals), an Exif IFD
    with an exposure, a date and a comment, and a GPS IFD."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Camera"
    exif[ExifTags.Base.XResolution] = 72.0
    exif[ExifTags.Base.ResolutionUnit] = 2
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.ExposureTime] = 0.01
    details[ExifTags.Base.DateTimeOriginal] = "2024:01:02 03:04:05"
    details[ExifTags.Base.UserComment] = b"ASCII\0\0\0a shirt"
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.5)
    return exif.tobytes()


def metadata_seeds() -> dict[str, bytes]:
    """Small, valid pictures that carry EXIF, an ICC profile, XMP and text: a JPEG (also
    in CMYK, which is converted to RGB: a new picture, which once read the metadata
    again), a PNG and a WebP."""
    y, x = np.mgrid[0:40, 0:48]
    rgb = Image.fromarray(np.stack([x * 5, y * 6, (x + y) * 3], axis=-1).astype(np.uint8))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "a shirt")
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    metadata = {"exif": camera_exif(), "icc_profile": icc}
    return {
        "metadata.jpg": encoded(rgb, "JPEG", xmp=XMP, comment=b"a shirt", **metadata),
        "metadata-cmyk.jpg": encoded(rgb.convert("CMYK"), "JPEG", **metadata),
        "metadata.png": encoded(rgb, "PNG", pnginfo=text, **metadata),
        "metadata.webp": encoded(rgb, "WEBP", xmp=XMP, **metadata),
    }


def metadata_blocks(name: str, data: bytes) -> Iterator[tuple[str, int, int]]:
    """The metadata blocks of a :func:`metadata_seeds` picture: (kind, start, end) of each
    block's content in ``data``."""
    if name.endswith(".jpg"):  # the segments before the scan: FF, marker, length, content
        kinds = {b"Exif": "exif", b"http": "xmp", b"ICC_": "icc"}
        at = 2
        while data[at + 1] != 0xDA:
            (length,) = struct.unpack_from(">H", data, at + 2)
            kind = "comment" if data[at + 1] == 0xFE else kinds.get(data[at + 4 : at + 8])
            if kind:
                yield kind, at + 4, at + 2 + length
            at += 2 + length
    elif name.endswith(".png"):  # chunks: length, type, content, CRC
        kinds = {b"eXIf": "exif", b"iCCP": "icc", b"iTXt": "xmp", b"tEXt": "text"}
        at = 8
        while at < len(data):
            (length,) = struct.unpack_from(">I", data, at)
            kind = kinds.get(data[at + 4 : at + 8])
            if kind:
                yield kind, at + 8, at + 8 + length
            at += 12 + length
    elif name.endswith(".webp"):  # RIFF chunks: type, length, content (padded to even)
        kinds = {b"EXIF": "exif", b"ICCP": "icc", b"XMP ": "xmp"}
        at = 12
        while at < len(data):
            (length,) = struct.unpack_from("<I", data, at + 4)
            kind = kinds.get(data[at : at + 4])
            if kind:
                yield kind, at + 8, at + 8 + length
            at += 8 + length + length % 2


def with_png_crcs(data: bytes) -> bytes:
    """``data`` with the CRC of every PNG chunk recomputed, so that Pillow parses damaged
    content instead of stopping at the CRC."""
    fixed = bytearray(data)
    at = 8
    while at + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, at)
        if at + 12 + length > len(data):
            break
        struct.pack_into(">I", fixed, at + 8 + length, zlib.crc32(data[at + 4 : at + 8 + length]))
        at += 12 + length
    return bytes(fixed)


def damaged_metadata() -> Iterator[tuple[str, bytes]]:
    """Each metadata block of :func:`metadata_seeds` with each of its first 16 bytes flipped
    (headers: an EXIF block's TIFF header and first tag), with 1 to 4 random bytes flipped
    (8 ways), and zeroed."""
    for number, (name, data) in enumerate(metadata_seeds().items()):
        rng = np.random.default_rng(100 + number)
        fix = with_png_crcs if name.endswith(".png") else bytes
        for kind, start, end in metadata_blocks(name, data):
            for at in range(start, min(start + 16, end)):
                damaged = bytearray(data)
                damaged[at] ^= 0x01
                yield f"{name} {kind} header byte {at - start} flipped", fix(damaged)
            for flip in range(8):
                damaged = bytearray(data)
                for at in rng.integers(start, end, size=1 + flip % 4):
                    damaged[at] ^= int(rng.integers(1, 256))
                yield f"{name} {kind} flipped {flip}", fix(damaged)
            yield f"{name} {kind} zeroed", fix(data[:start] + bytes(end - start) + data[end:])


def damaged_exif_jpeg() -> bytes:
    """A CMYK JPEG whose EXIF block is not TIFF data (``MM`` became ``ML``): Pillow's JPEG
    reader hides the error when it opens the file, and raised it again (``SyntaxError: not
    a TIFF file``) once the picture was converted."""
    data = bytearray(metadata_seeds()["metadata-cmyk.jpg"])
    data[data.find(b"Exif\0\0MM") + 7] ^= 0x01
    return bytes(data)


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
    other sizes (:data:`DECLARED_SIZES`), then :func:`damaged_metadata` and
    :func:`damaged_exif_jpeg`: about six hundred pictures, the same each run."""
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
    yield from damaged_metadata()
    yield "metadata-cmyk.jpg EXIF not TIFF data", damaged_exif_jpeg()


def _peak_memory() -> int:
    """The process's peak resident memory, in bytes (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    from fashion_lit.images import ImageError, decode_image

    for name, data in {**seed_pictures(), **metadata_seeds()}.items():  # warm up: codecs
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
