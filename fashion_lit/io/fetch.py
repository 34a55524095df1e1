"""The one fetcher of ``http(s)://`` URLs, for the data files' mirrors and checkpoints alike.

Redirects lead to ``http(s)://`` only (not to ``file://``, a file of this machine). A
failure that may pass (no connection, a timeout, a transfer cut short, HTTP 429 or 5xx)
is tried again, 1 s then 2 s later; a size cap holds whatever the Content-Length says; a
deadline, ``$FASHION_LIT_DOWNLOAD_TIMEOUT_S`` (600 s), bounds the whole transfer, checked
at each read of the socket so that a trickle is stopped too. ``file://`` URLs are read
in place, as paths, by the callers.
"""

import atexit
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.client import HTTPException, HTTPResponse
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import HTTPRedirectHandler, build_opener

MAX_DOWNLOAD_MB_ENV = "FASHION_LIT_MAX_DOWNLOAD_MB"
DOWNLOAD_TIMEOUT_ENV = "FASHION_LIT_DOWNLOAD_TIMEOUT_S"
BACKOFF_S = (1.0, 2.0)  # the pauses before the second and the third, last, attempt
_SILENCE_S = 60.0  # the longest wait for one read of the socket, however far the deadline


class FetchError(Exception):
    """A URL that could not be read; ``reason`` says why, without the URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Cannot download {url}: {reason}.")
        self.reason = reason


class Unreachable(FetchError):
    """The server could not be reached, or sent the file too slowly."""


class TooLarge(FetchError):
    """The file is larger than the cap: not the file expected, or an endless stream."""


class Stream:
    """An answer's body, read within the cap and the deadline; ``total``: its Content-Length."""

    def __init__(self, url: str, response: HTTPResponse, max_bytes: int, deadline: float):
        self.url, self.response, self.max_bytes, self.deadline = url, response, max_bytes, deadline
        length = response.headers.get("Content-Length", "")
        self.total = int(length) if length.isdigit() else None
        self.count = 0
        if (self.total or 0) > max_bytes:
            raise TooLarge(url, f"it is {self.total} bytes, more than the {max_bytes} it may be")

    def read(self, size: int = -1) -> bytes:
        if time.monotonic() > self.deadline:
            raise TimeoutError("the deadline passed")
        chunk = self.response.read1(size)  # one read of the socket: a trickle cannot hold it
        self.count += len(chunk)
        if self.count > self.max_bytes:
            reason = f"it goes on past {self.max_bytes} bytes, more than it can be"
            raise TooLarge(self.url, reason + ": reading stopped there")
        if not chunk and size and self.count < (self.total or 0):  # to be attempted again
            raise ConnectionError(f"the transfer stopped after {self.count} of {self.total} bytes")
        return chunk


def fetch(url: str, use: Callable[[Stream], None], max_bytes: int) -> None:
    """Have ``use`` read the content of ``url``, within ``max_bytes``.

    ``use`` starts afresh at each attempt; an exception of its own ends the fetch at once.
    SIGTERM raises meanwhile (:func:`_sigterm_raises`), so that what it wrote is removed.

    Raises:
        FetchError: ``url`` could not be read, with the reason.
    """
    seconds = _setting(url, DOWNLOAD_TIMEOUT_ENV, 600.0)
    deadline = time.monotonic() + seconds
    pauses = iter(BACKOFF_S)
    with _sigterm_raises():
        while True:
            timeout = max(min(_SILENCE_S, deadline - time.monotonic()), 0.01)
            try:
                with build_opener(_HttpRedirectsOnly).open(url, timeout=timeout) as response:
                    return use(Stream(url, response, max_bytes, deadline))
            except (URLError, TimeoutError, ConnectionError, HTTPException) as error:
                if time.monotonic() >= deadline:
                    reason = f"not done after {seconds:g} s (${DOWNLOAD_TIMEOUT_ENV})"
                    raise Unreachable(url, reason) from error
                pause = next(pauses, None)
                answered = isinstance(error, HTTPError) and error.code != 429 and error.code < 500
                if pause is None or answered or time.monotonic() + pause >= deadline:
                    raise _fetch_error(url, error) from error
            time.sleep(pause)


def download(url: str) -> Path:
    """Download ``url`` into a new temporary folder; return the file there.

    The folder is removed at once if the download fails or is interrupted, otherwise at
    the process's normal exit. The cap is ``$FASHION_LIT_MAX_DOWNLOAD_MB`` (2048).
    """
    max_bytes = int(_setting(url, MAX_DOWNLOAD_MB_ENV, 2048.0) * (1 << 20))
    with _sigterm_raises():
        folder = Path(tempfile.mkdtemp(prefix="fashion_lit-download-"))
        target = folder / (Path(urlsplit(url).path).name or "download")

        def save(stream: Stream) -> None:
            with open(target, "wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)

        try:
            fetch(url, save, max_bytes)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return target


class _HttpRedirectsOnly(HTTPRedirectHandler):
    """urllib's own also follows ``ftp://`` redirects, and refuses ``file://`` ones with an
    error that reads like the server's."""

    def http_error_302(self, req, fp, code, msg, headers):
        target = urljoin(req.full_url, headers.get("Location") or headers.get("URI") or "")
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            fp.close()
            reason = f"redirected to {target}; only http:// and https:// redirects are followed"
            raise FetchError(req.full_url, "refused: " + reason)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _fetch_error(url: str, error: Exception) -> FetchError:
    if isinstance(error, HTTPError):
        return FetchError(url, f"the server answered {error.code} {error.reason}")
    if isinstance(error, URLError | TimeoutError):
        return Unreachable(url, str(getattr(error, "reason", error)))
    return FetchError(url, str(error) or type(error).__name__)


def _setting(url: str, name: str, default: float) -> float:
    """The positive number in the environment variable ``name``, else ``default``."""
    text = os.environ.get(name, "").strip() or str(default)
    try:
        if 0 < float(text) < float("inf"):
            return float(text)
    except ValueError:
        pass
    raise FetchError(url, f"${name} is {text!r}; set it to a positive number, or unset it")


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Meanwhile, SIGTERM raises SystemExit(143), so that clean-up code runs: its default
    action ends the process at once. Only from the main thread, where handlers run, and
    in place of the default: a handler of the program's own (Lightning's in fit) stays."""
    install = threading.current_thread() is threading.main_thread()
    install = install and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    if install:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield
    finally:
        if install:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
