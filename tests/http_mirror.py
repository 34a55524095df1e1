"""A real HTTP server on 127.0.0.1 that serves a folder, and misbehaves on request."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class MirrorServer(ThreadingHTTPServer):
    """Serves ``folder``'s files at :attr:`url`, as a mirror of the ``.gz`` files would.

    Each request takes the next fault of ``faults``, or ``fault`` once they are used up:
    ``"404"``, ``"500"``, ``"close"`` (close the connection without answering), ``"short"``
    (announce the whole file, send half, close), ``"stall"`` (send half, then wait for
    :attr:`release`), or ``""`` to serve the file. ``delay`` seconds pass before answering.
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
        server.requests.append(self.path.lstrip("/"))
        fault = server.faults.pop(0) if server.faults else server.fault
        time.sleep(server.delay)
        path = server.folder / self.path.lstrip("/")
        if fault == "close":
            return
        if fault == "500":
            self.send_error(500)
            return
        if fault == "404" or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
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

    def log_message(self, format: str, *args) -> None:  # keep the test output clean
        pass
