"""The images of a ``POST /predict`` request, decoded before they join a batch.

Image files (multipart parts named ``file``) go through ``predict``'s own
:func:`~fashion_lit.images.decode_image`; JSON ``{"images": [...]}`` holds 28×28 arrays of
numbers in [0, 1]. :class:`ImageReader`, the route's FastAPI dependency, runs in the
request's handler, so a bad request gets its 4xx there and cannot fail the requests it
would have been batched with.

Decoding is the costly part of a request that a stranger controls: a PNG of 40 megapixels
can take a tenth of a second of CPU time from a few kilobytes of upload. So the pictures'
sizes are read from their headers first, and a request whose pictures hold more than
``max_megapixels`` in all is refused before any is decoded; what is accepted, if it is
more than a small picture's work, is decoded in a thread, so that the event loop goes on
answering the other requests (Pillow's decoders and pydantic's parser let it run).
"""

import asyncio
import io
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

import numpy as np
from fastapi import HTTPException, Request
from PIL import Image
from pydantic import BaseModel, Field, Strict, ValidationError
from starlette.datastructures import UploadFile
from starlette.status import (
    HTTP_400_BAD_REQUEST,
    HTTP_413_CONTENT_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fashion_lit.images import FORMAT_NAMES, FORMATS, SIDE, ImageError, decode_image

#: The form part that holds an image file.
FILE_FIELD = "file"

HOW_TO_SEND = (
    f"send image files as multipart form parts named '{FILE_FIELD}' "
    f'(curl -F {FILE_FIELD}=@photo.png), or JSON {{"images": [...]}} of {SIDE}×{SIDE} '
    "arrays of numbers in [0, 1]"
)

#: Up to this many pixels in all, a request's pictures are decoded in the event loop
#: itself: a 256×256 picture takes about 2 ms, less than a stranger could take anyway,
#: and a small upload (the usual case) does not pay for the hand-over to a thread.
INLINE_PIXELS = 256 * 256
#: The same for a JSON body, in bytes: about 20 pictures' arrays.
INLINE_JSON_BYTES = 64_000

#: A gray level: a JSON number, not a string ("0.5") or a boolean, which pydantic's lax
#: mode would turn into one.
GrayLevel = Annotated[float, Strict()]

T = TypeVar("T")


class ImageArrays(BaseModel):
    """The JSON body of a request from a program: pictures already in FashionMNIST's form."""

    images: list[list[list[GrayLevel]]] = Field(
        min_length=1,
        description=f"{SIDE}×{SIDE} arrays of gray levels in [0, 1], a light garment on "
        "black, as FashionMNIST's images after ToTensor.",
    )


#: The two request bodies of ``POST /predict``, for its OpenAPI description: FastAPI cannot
#: see them, since :class:`ImageReader` reads the request itself.
REQUEST_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "properties": {
                    FILE_FIELD: {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": f"{FORMAT_NAMES} files, one form part each.",
                    }
                },
            }
        },
        "application/json": {"schema": ImageArrays.model_json_schema()},
    },
}


@dataclass(frozen=True)
class Images:
    """The decoded images of one request, in the order sent: what the batcher receives."""

    pixels: np.ndarray = field(repr=False)  # N×1×28×28 float32 in [0, 1]: too long for a repr
    names: list[str] | None  # the files' names; None for JSON arrays, known by position


@dataclass(frozen=True)
class Picture:
    """An uploaded picture file, not yet decoded: its name, its bytes and its pixel count."""

    name: str
    data: bytes
    pixels: int


def bad_request(message: str, status_code: int = HTTP_400_BAD_REQUEST) -> HTTPException:
    return HTTPException(status_code=status_code, detail=message)


@dataclass(frozen=True)
class ImageReader:
    """The FastAPI dependency that turns a ``/predict`` request into :class:`Images`, or
    raises an ``HTTPException`` with a 4xx status and a message that names what is wrong.

    Args:
        max_megapixels: the most pixels, in millions, that a request's pictures may hold
            in all (``--max_request_megapixels``).
        decoder: the threads that decode the larger requests; None for the event loop's
            default executor.
    """

    max_megapixels: float = 50.0
    decoder: Executor | None = None

    async def __call__(self, request: Request) -> Images:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            pictures = await _uploaded(request)
            self.check_size(pictures)
            total = sum(picture.pixels for picture in pictures)
            pixels = await self._run(decode_pictures, pictures, inline=total <= INLINE_PIXELS)
            return Images(pixels, [picture.name for picture in pictures])
        if content_type.startswith("application/json"):
            body = await request.body()
            pixels = await self._run(read_arrays, body, inline=len(body) <= INLINE_JSON_BYTES)
            return Images(pixels, None)
        raise bad_request(
            f"Content type {content_type or 'none'!r} is not accepted: {HOW_TO_SEND}.",
            HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )

    def check_size(self, pictures: Sequence[Picture]) -> None:
        """A 413 if the pictures hold more than ``max_megapixels`` in all."""
        total = sum(picture.pixels for picture in pictures) / 1e6
        if total > self.max_megapixels:
            largest = max(pictures, key=lambda picture: picture.pixels)
            raise bad_request(
                f"The request's {len(pictures)} picture(s) hold {total:.1f} megapixels in all "
                f"(the largest, {largest.name}, {largest.pixels / 1e6:.1f}), more than the "
                f"limit of {self.max_megapixels:g}: send fewer or smaller pictures (the "
                "server's --max_request_megapixels sets the limit).",
                HTTP_413_CONTENT_TOO_LARGE,
            )

    async def _run(self, work: Callable[[T], np.ndarray], given: T, inline: bool) -> np.ndarray:
        if inline:
            return work(given)
        return await asyncio.get_running_loop().run_in_executor(self.decoder, work, given)


async def _uploaded(request: Request) -> list[Picture]:
    """The request's picture files, their sizes read from their headers."""
    form = await request.form()
    parts = form.getlist(FILE_FIELD)
    if not parts:
        given = ", ".join(repr(key) for key in form.keys()) or "none"
        raise bad_request(
            f"No form part named '{FILE_FIELD}' (parts sent: {given}): {HOW_TO_SEND}."
        )
    pictures = []
    for number, part in enumerate(parts, start=1):
        if not isinstance(part, UploadFile):
            raise bad_request(
                f"Form part '{FILE_FIELD}' number {number} is text, not a file: {HOW_TO_SEND}."
            )
        name = part.filename or f"file {number}"
        data = await part.read()
        if not data:
            raise bad_request(f"{name} is empty: choose a {FORMAT_NAMES} picture.")
        pictures.append(Picture(name, data, pixel_count(data)))
    return pictures


def pixel_count(data: bytes) -> int:
    """Width × height of a picture file, read from its header alone; 0 if it cannot be
    read, since :func:`decode_pictures` then refuses it with ``predict``'s message."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
    except Exception:  # Pillow raises many types on damaged headers (see fashion_lit.images)
        return 0
    return width * height


def decode_pictures(pictures: Sequence[Picture]) -> np.ndarray:
    """The N×1×28×28 pixels of the pictures, each converted as ``predict`` converts it."""
    images = []
    for picture in pictures:
        try:
            images.append(decode_image(picture.data, picture.name).numpy())
        except ImageError as error:
            raise bad_request(str(error)) from error
    return np.stack(images)


def read_arrays(body: bytes) -> np.ndarray:
    """The N×1×28×28 pixels of a JSON body, checked: numbers in [0, 1], 28×28 each."""
    try:
        arrays = ImageArrays.model_validate_json(body).images
    except ValidationError as error:
        problem = error.errors()[0]
        first, *indices = problem["loc"] or ("the body",)
        where = f"{first}{''.join(f'[{i}]' for i in indices)}"
        raise bad_request(f"Invalid JSON at {where}: {problem['msg']}; {HOW_TO_SEND}.") from error
    for number, array in enumerate(arrays):
        rows = {len(row) for row in array}
        if len(array) != SIDE or rows != {SIDE}:
            shape = f"{len(array)}×{'/'.join(map(str, sorted(rows))) or 0}"
            raise bad_request(
                f"images[{number}] is {shape}, not {SIDE}×{SIDE}: give each picture as "
                f"{SIDE} rows of {SIDE} numbers."
            )
    pixels = np.asarray(arrays, dtype=np.float32)
    outside = np.flatnonzero(~((pixels >= 0) & (pixels <= 1)).all(axis=(1, 2)))
    if outside.size:
        number = int(outside[0])
        raise bad_request(
            f"images[{number}] has values outside [0, 1] (from {float(pixels[number].min()):g} "
            f"to {float(pixels[number].max()):g}): scale the gray levels to [0, 1], e.g. "
            "divide 0-255 values by 255."
        )
    return pixels[:, None]


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` ends its request with a 413.

    Checked against Content-Length, else counted as it arrives, so an oversized upload is
    never held in memory; raised from the reading, so the application answers it in JSON
    (Starlette's ``RequestBodyLimitMiddleware`` answers in plain text).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        received = int(declared) if declared.isdigit() else 0

        async def receive_within_limit() -> Message:
            nonlocal received
            if received > self.max_bytes:
                raise self.too_large()
            message = await receive()
            if not declared.isdigit():
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self.too_large()
            return message

        await self.app(scope, receive_within_limit, send)

    def too_large(self) -> HTTPException:
        return bad_request(
            f"The request is larger than {self.max_bytes / 1e6:g} MB, the limit: send a smaller "
            "picture (the server's --max_request_mb sets the limit).",
            HTTP_413_CONTENT_TOO_LARGE,
        )
