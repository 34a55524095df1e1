"""Where the files can come from: local folders, ``file://`` and ``http(s)://`` mirrors.

A folder (or ``file://`` URL) may hold each file as ``.gz`` or decompressed; an http(s)
mirror is asked for the ``.gz``, as upstream serves it, by :func:`fashion_lit.io.fetch.fetch`.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

from fashion_lit.data.facts import IdxFile
from fashion_lit.io.fetch import fetch


class NotThere(LookupError):
    """The folder does not have the file."""


@dataclass
class Opened:
    """One file opened at a source, ready to be read."""

    stream: BinaryIO
    compressed: bool
    total: int | None  # bytes to read, when the source says
    location: str  # the path or URL, for messages


def is_network(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def folder_of(source: str) -> Path | None:
    """The local folder a source names, None for a network source; a ``ValueError`` for
    what is neither a folder nor a file, http or https URL."""
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


def read_file(source: str, file: IdxFile, use: Callable[[Opened], None], max_bytes: int) -> None:
    """Open ``file`` at ``source`` and have ``use`` read it; a network source may send at
    most ``max_bytes``. Raises :class:`NotThere`, ``FetchError`` or ``OSError``."""
    folder = folder_of(source)
    if folder is None:
        url = urljoin(source if source.endswith("/") else source + "/", file.archive)
        return fetch(url, lambda stream: use(Opened(stream, True, stream.total, url)), max_bytes)
    for name, compressed in ((file.archive, True), (file.name, False)):
        path = folder / name
        if path.is_file():
            with open(path, "rb") as stream:
                return use(Opened(stream, compressed, os.path.getsize(path), str(path)))
    raise NotThere("not there")
