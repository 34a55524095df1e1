"""Where the files can come from: local folders, ``file://`` and ``http(s)://`` mirrors.

A source is written as a string, in a config file, on the command line or in
``$FASHION_LIT_SOURCES``. A folder (or ``file://`` URL) may hold each file as ``.gz`` or
decompressed; an http(s) mirror is asked for the ``.gz``, as the upstream one serves it,
and its redirects are followed to http(s) URLs only.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.error import HTTPError
from urllib.parse import urljoin, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener, url2pathname

from fashion_lit.data.facts import IdxFile


class NotThere(LookupError):
    """The source does not have the file: absent from the folder, or HTTP 404."""


class RedirectRefused(LookupError):
    """An http(s) mirror redirected to a URL of another scheme (``ftp://``, ``file://``)."""


class _HttpRedirectsOnly(HTTPRedirectHandler):
    """urllib's redirect handler, restricted to http(s) targets.

    urllib's own follows ``ftp://`` redirects too, and refuses ``file://`` ones with an
    HTTP error that reads like a failure of the server. A mirror has no reason to send
    the client anywhere but another web server.
    """

    def http_error_302(self, req: Request, fp, code: int, msg: str, headers):
        target = headers.get("Location") or headers.get("URI")
        if target is not None:
            target = urljoin(req.full_url, target)
            if urlsplit(target).scheme not in ("http", "https"):
                fp.close()
                raise RedirectRefused(
                    f"redirected to {target}; only http:// and https:// redirects are followed"
                )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


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
        RedirectRefused: the source redirected elsewhere than to an http(s) URL.
        OSError: the source could not be read (unreachable, HTTP 5xx, …).
    """
    folder = folder_of(source)
    if folder is None:
        url = urljoin(source if source.endswith("/") else source + "/", file.archive)
        try:
            response = build_opener(_HttpRedirectsOnly).open(url, timeout=timeout)
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
