"""``python -m fashion_lit serve`` started for real, as a subprocess on 127.0.0.1."""

import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest
import torch
from playwright.sync_api import Browser, sync_playwright

from docs.serve_screenshot import CHROMIUM, CHROMIUM_ARGS
from fashion_lit.network import NeuralNetwork
from tests.helpers.paths import REPO

ANKLE_BOOT = REPO / "docs" / "ankle-boot.png"
STARTUP_S = 180  # importing torch and loading the network on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def untrained_model(path: Path) -> Path:
    """The tutorial's network with seeded random weights, saved as its ``model.pth``."""
    torch.manual_seed(0)
    torch.save(NeuralNetwork().state_dict(), path)
    return path


@contextmanager
def debian_chromium() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (whose own browser download is not needed)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make browser, as root).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def blank_png(side: int) -> bytes:
    """A PNG of side×side black gray pixels: a few kilobytes of file for millions of
    pixels once decoded (13500 a side is a decompression bomb; 6245, 39 megapixels, is
    the largest that is read)."""
    rows_per_block = 5
    compressor = zlib.compressobj(9)
    block = (b"\0" + bytes(side)) * rows_per_block  # each row: filter byte, then gray bytes
    data = b"".join(compressor.compress(block) for _ in range(side // rows_per_block))
    data += compressor.compress((b"\0" + bytes(side)) * (side % rows_per_block))
    data += compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


class Server:
    """A server subprocess: started in its own process group, ready once each of its
    server processes answers; with ``open_files``, under that limit of file descriptors
    (``ulimit -n``)."""

    def __init__(
        self, ckpt_path: Path | str, cwd: Path, *options: str, open_files: int | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "fashion_lit", "serve", f"--ckpt_path={ckpt_path}"]
        self.log = cwd / f"server-{self.port}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [*command, f"--port={self.port}", "--log_level=warning", *options],
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO)},  # this checkout, not an install
                start_new_session=True,  # Ctrl-C can be sent to its group alone
                preexec_fn=None if open_files is None else lambda: limit_open_files(open_files),
            )
        self.wait_until_ready()
        self.processes = [psutil.Process(self.process.pid)]
        self.processes += self.processes[0].children(recursive=True)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        try:
            self.each_process(deadline)  # one process answering is not all of them listening
        except (httpx.HTTPError, TimeoutError):
            self.stop()
            raise RuntimeError(
                f"The server was not ready in {STARTUP_S} s: {self.log.read_text()}"
            ) from None

    def each_process(self, deadline: float | None = None) -> dict[int, dict]:
        """``/info`` of each server process, by its id: asked on new connections (which the
        kernel spreads over the processes by their ports) until every one has answered."""
        deadline = deadline or time.monotonic() + 30
        info = httpx.get(f"{self.url}/info", timeout=10).json()
        answers = {info["process"]: info}
        while len(answers) < info["settings"]["processes"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only server processes {sorted(answers)} answered")
            info = httpx.get(f"{self.url}/info", timeout=10).json()
            answers[info["process"]] = info
        return answers

    def ctrl_c(self) -> None:
        """What Ctrl-C in its terminal does: SIGINT to every process of the group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def stop(self) -> int:
        """Stop it with SIGTERM (if it still runs) and return its exit status; any of its
        processes still there after that is killed (a server outliving a killed parent)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(60)
        finally:
            for leftover in psutil.wait_procs(getattr(self, "processes", []), timeout=10)[1]:
                leftover.kill()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def limit_open_files(count: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))
