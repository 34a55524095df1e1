"""Where the files can come from: local folders, ``file://`` and ``http(s)://`` mirrors.

A source is written as a string, in a config file, on the command line or in
``$FASHION_LIT_SOURCES``. A folder (or ``file://`` URL) may hold each file as ``.gz`` or
decompressed; an http(s) mirror is asked for the ``.gz``, as the upstream one serves it.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.error import HTTPError
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname, urlopen

from fashion_lit.data.facts import IdxFile


class NotThere(LookupError):
    """The source does not have the file: absent from the folder, or HTTP 404."""


@dataclass
class Opened:
    """One file opened at a source, ready to be read."""

    stream: BinaryIO
    compressed: bool
    total: int | None  # bytes to read, when the source says
    location: str  # the path or URL, for messages

    def __enter__(self) -> "Opened":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stream.close()


def is_network(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def folder_of(source: str) -> Path | None:
    """The local folder a source names, or None for a network source.

    Raises:
        ValueError: the source is neither a folder nor a file, http or https URL.
    """
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        return None
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    if len(parts.scheme) > 1:  # one letter is a Windows drive
        raise ValueError(
            f"data.sources: {source!r} is neither a folder nor a file://, http:// or https:// URL."
        )
    return Path(source)


def open_file(source: str, file: IdxFile, timeout: float) -> Opened:
    """Open ``file`` at ``source``; network reads give up after ``timeout`` seconds of silence.

    Raises:
        NotThere: the source does not have the file.
        OSError: the source could not be read (unreachable, HTTP 5xx, …).
    """
    folder = folder_of(source)
    if folder is None:
        url = urljoin(source if source.endswith("/") else source + "/", file.archive)
        try:
            response = urlopen(url, timeout=timeout)
        except HTTPError as error:
            if error.code in (404, 410):
                raise NotThere(f"HTTP {error.code}") from error
            raise
        length = response.headers.get("Content-Length")
        return Opened(response, True, int(length) if length else None, url)
    for name, compressed in ((file.archive, True), (file.name, False)):
        path = folder / name
        if path.is_file():
            return Opened(open(path, "rb"), compressed, os.path.getsize(path), str(path))
    raise NotThere("not there")
