"""The images of a ``POST /predict`` request, decoded in the request's own handler.

Image files (multipart parts named ``file``) go through ``predict``'s own
:func:`~fashion_lit.images.decode_image`; JSON ``{"images": [...]}`` holds 28×28 arrays in
[0, 1]. :func:`read_images`, the route's FastAPI dependency, runs before the images join a
batch, so a bad request gets its 4xx there and cannot fail the requests of its batch.
"""

from dataclasses import dataclass, field

import numpy as np
from fastapi import HTTPException, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.status import (
    HTTP_400_BAD_REQUEST,
    HTTP_413_CONTENT_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fashion_lit.images import SIDE, ImageError, decode_image

#: The form part that holds an image file.
FILE_FIELD = "file"

HOW_TO_SEND = (
    f"send image files as multipart form parts named '{FILE_FIELD}' "
    f'(curl -F {FILE_FIELD}=@photo.png), or JSON {{"images": [...]}} of {SIDE}×{SIDE} '
    "arrays of numbers in [0, 1]"
)


class ImageArrays(BaseModel):
    """The JSON body of a request from a program: pictures already in FashionMNIST's form."""

    images: list[list[list[float]]] = Field(
        min_length=1,
        description=f"{SIDE}×{SIDE} arrays of gray levels in [0, 1], a light garment on "
        "black, as FashionMNIST's images after ToTensor.",
    )


#: The two request bodies of ``POST /predict``, for its OpenAPI description: FastAPI cannot
#: see them, since :func:`read_images` reads the request itself.
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
                        "description": "PNG or JPEG files, one form part each.",
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


def bad_request(message: str, status_code: int = HTTP_400_BAD_REQUEST) -> HTTPException:
    return HTTPException(status_code=status_code, detail=message)


async def read_images(request: Request) -> Images:
    """The FastAPI dependency that turns a ``/predict`` request into :class:`Images`, or
    raises an ``HTTPException`` with a 4xx status and a message that names what is wrong."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        pixels, names = await _read_files(request)
    elif content_type.startswith("application/json"):
        pixels, names = _read_arrays(await request.body()), None
    else:
        raise bad_request(
            f"Content type {content_type or 'none'!r} is not accepted: {HOW_TO_SEND}.",
            HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    return Images(pixels, names)


async def _read_files(request: Request) -> tuple[np.ndarray, list[str]]:
    form = await request.form()
    parts = form.getlist(FILE_FIELD)
    if not parts:
        given = ", ".join(repr(key) for key in form.keys()) or "none"
        raise bad_request(
            f"No form part named '{FILE_FIELD}' (parts sent: {given}): {HOW_TO_SEND}."
        )
    images, names = [], []
    for number, part in enumerate(parts, start=1):
        if not isinstance(part, UploadFile):
            raise bad_request(
                f"Form part '{FILE_FIELD}' number {number} is text, not a file: {HOW_TO_SEND}."
            )
        name = part.filename or f"file {number}"
        data = await part.read()
        if not data:
            raise bad_request(f"{name} is empty: choose a PNG or JPEG picture.")
        try:
            images.append(decode_image(data, name).numpy())
        except ImageError as error:
            raise bad_request(str(error)) from error
        names.append(name)
    return np.stack(images), names


def _read_arrays(body: bytes) -> np.ndarray:
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
