"""A real HTTP server on 127.0.0.1 that serves a folder, and misbehaves on request."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

#: A gzip header, then deflate's empty stored blocks, which decompress to nothing.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
EMPTY_BLOCKS = b"\x00\x00\x00\xff\xff" * 4096


class MirrorServer(ThreadingHTTPServer):
    """Serves ``folder``'s files at :attr:`url`, as a mirror of the ``.gz`` files would.

    Each request takes the next fault of ``faults``, or ``fault`` once they are used up:
    an HTTP status (``"404"``, ``"503"``), ``"close"`` (close the connection without
    answering), ``"trickle"`` (one byte every 0.2 s, without end), ``"short"``
    (announce the whole file, send half, close), ``"stall"`` (send half, then wait for
    :attr:`release`), ``"no-length"`` (serve the file without a Content-Length),
    ``"endless"`` (a gzip stream without a Content-Length that never ends; :attr:`sent`
    counts its bytes), ``"redirect:<URL>"`` (redirect to ``<URL><file name>?moved``), or
    ``""`` to serve the file. ``delay`` seconds pass before answering.
    """

    daemon_threads = True

    def __init__(
        self, folder: Path, fault: str = "", faults: list[str] | None = None, delay: float = 0.0
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.folder = Path(folder)
        self.fault = fault
        self.faults = list(faults or [])
        self.delay = delay
        self.requests: list[str] = []
        self.sent = 0  # bytes of "endless" answers sent
        self.stalled = threading.Event()  # set once a "stall" answer is half sent
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def __enter__(self) -> "MirrorServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: MirrorServer

    def do_GET(self) -> None:
        server = self.server
        name = urlsplit(self.path).path.lstrip("/")
        server.requests.append(name)
        fault = server.faults.pop(0) if server.faults else server.fault
        time.sleep(server.delay)
        path = server.folder / name
        if fault == "close":
            return
        if fault.startswith("redirect:"):
            self.send_response(302)
            self.send_header("Location", f"{fault.removeprefix('redirect:')}{name}?moved")
            self.end_headers()
            return
        if fault == "endless":
            self.send_endless_gzip()
            return
        if fault == "trickle":
            self.send_trickle()
            return
        if fault.isdigit() or not path.is_file():
            self.send_error(int(fault) if fault.isdigit() else 404)
            return
        body = path.read_bytes()
        self.send_response(200)
        if fault != "no-length":  # without one, the body ends when the connection closes
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault in ("short", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if fault == "stall":
                server.stalled.set()
                server.release.wait(60)
            return
        self.wfile.write(body)

    def send_endless_gzip(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(GZIP_HEADER)
        try:
            while not self.server.release.is_set():
                self.wfile.write(EMPTY_BLOCKS)
                self.server.sent += len(EMPTY_BLOCKS)
        except OSError:  # the client hung up
            pass

    def send_trickle(self) -> None:
        self.send_response(200)
        self.end_headers()
        try:
            while not self.server.release.wait(0.2):
                self.wfile.write(b"x")
                self.wfile.flush()
        except OSError:  # the client hung up
            pass

    def log_message(self, format: str, *args) -> None:  # keep the test output clean
        pass
