"""``python -m fashion_lit serve`` against strangers: what they send cannot stall it.

Real servers on 127.0.0.1: one with room for large requests (to show that what it accepts
is decoded off its event loop, and that many pictures go through the network in passes
of at most ``--max_batch_size``), one with 256 file descriptors and a short header
timeout (to show that slow connections cannot keep anyone out). A failure of the service
itself is shown in this process, with a network that fails.
"""

import asyncio
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import torch

from fashion_lit.checkpoints import LoadedNetwork
from fashion_lit.serve.app import INTERNAL_ERROR, Settings, create_app
from fashion_lit.serve.examples import read_examples
from fashion_lit.serve.hosts import allowed_hosts
from tests.helpers.serve import ANKLE_BOOT, Server, blank_png, untrained_model

LARGEST = blank_png(6245)  # 39 megapixels: the most a picture may have
HEADER_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """The network, in a folder of its own where the servers run."""
    return untrained_model(tmp_path_factory.mktemp("guards") / "model.pth")


@pytest.fixture(scope="module")
def roomy(model):
    """One server process taking requests of up to 20 MB and 250 megapixels."""
    options = ["--processes=1", "--max_request_mb=20", "--max_request_megapixels=250"]
    with Server(model, model.parent, *options, "--data_dir=no-data") as server:
        yield server


@pytest.fixture(scope="module")
def cramped(model):
    """Two server processes with 256 file descriptors each, and 2 s to send headers."""
    options = [f"--header_timeout={HEADER_TIMEOUT_S}", "--data_dir=no-data"]
    with Server(model, model.parent, *options, open_files=256) as server:
        yield server


def test_health_answers_within_half_a_second_while_large_pictures_are_decoded(roomy):
    files = [("file", (f"large-{n}.png", LARGEST)) for n in range(6)]  # 234 megapixels
    answers: list[httpx.Response] = []
    upload = threading.Thread(
        target=lambda: answers.append(httpx.post(f"{roomy.url}/predict", files=files, timeout=120))
    )
    waits = []
    with httpx.Client(base_url=roomy.url, timeout=10) as client:
        client.get("/health")  # connected before the clock starts
        upload.start()
        while upload.is_alive():
            started = time.monotonic()
            assert client.get("/health").status_code == 200
            waits.append(time.monotonic() - started)
            time.sleep(0.05)
    upload.join()

    assert answers[0].status_code == 200, answers[0].text
    assert len(answers[0].json()["predictions"]) == 6
    assert len(waits) >= 5  # the decoding took a while, and /health was asked throughout
    assert max(waits) < 0.5, waits


def test_2400_pictures_are_answered_through_passes_of_at_most_the_batch_size(roomy):
    images = [[[0] * 28] * 28] * 2400
    before = httpx.get(f"{roomy.url}/info").json()["batching"]

    response = httpx.post(f"{roomy.url}/predict", json={"images": images}, timeout=120)

    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [p["index"] for p in predictions] == list(range(2400))
    after = httpx.get(f"{roomy.url}/info").json()["batching"]
    assert after["images"] - before["images"] == 2400
    assert after["batches"] - before["batches"] >= 2400 // 32 and after["largest"] <= 32


def slow_connection(port: int) -> socket.socket:
    """A connection that sends the start of a request's headers, and never the end."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
    return connection


def test_600_slow_connections_do_not_keep_health_out_of_a_server_with_256_descriptors(cramped):
    slow = []
    try:
        for _ in range(600):
            try:
                slow.append(slow_connection(cramped.port))
            except OSError:  # refused or reset: the server is closing the oldest ones
                pass
        deadline = time.monotonic() + HEADER_TIMEOUT_S + 2
        answered = None
        while answered is None and time.monotonic() < deadline:
            try:
                answered = httpx.get(f"{cramped.url}/health", timeout=1)
            except httpx.HTTPError:
                time.sleep(0.05)
    finally:
        for connection in slow:
            connection.close()

    assert answered is not None and answered.status_code == 200
    for info in cramped.each_process().values():  # ~300 connections came to each
        assert info["connections"]["evicted"] > 0 and info["connections"]["open"] <= 256 - 64


def read_all(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_a_connection_without_complete_headers_gets_a_408_and_is_closed(cramped):
    started = time.monotonic()
    with slow_connection(cramped.port) as connection:
        answer = read_all(connection)

    assert HEADER_TIMEOUT_S - 0.5 < time.monotonic() - started < HEADER_TIMEOUT_S + 3
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
    assert "--header_timeout" in json.loads(answer.partition(b"\r\n\r\n")[2])["error"]


def test_a_kept_alive_connection_gets_the_same_time_for_each_requests_headers(cramped):
    request = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{cramped.port}\r\n"
    with socket.create_connection(("127.0.0.1", cramped.port), timeout=30) as connection:
        connection.sendall(request.encode() + b"\r\n")
        first = b""
        while not first.endswith(b'{"status":"ok"}'):  # the whole first answer
            first += connection.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 OK")
        connection.sendall(request.encode())  # the next request's headers, not ended
        started = time.monotonic()
        answer = read_all(connection)

    assert time.monotonic() - started < HEADER_TIMEOUT_S + 3
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")


class Broken(torch.nn.Module):
    """A network whose every forward pass fails, with a message a stranger must not see."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("secret at /home/someone/model internals")


def test_a_failure_of_the_service_is_a_plain_500_and_one_line_in_the_log(tmp_path, caplog):
    settings = Settings(
        ckpt_path="model.pth",
        host="127.0.0.1",
        allowed_hosts=("testserver",),
        data_dir=str(tmp_path),
        max_request_mb=1,
        max_request_megapixels=50,
        max_batch_size=32,
        batch_timeout=0,
        header_timeout=10,
        max_connections=100,
        torch_threads=1,
        processes=1,
    )
    loaded = LoadedNetwork(Broken(), Path("model.pth"), None, None)
    app = create_app(settings, loaded, read_examples(str(tmp_path)))
    photo = {"file": (ANKLE_BOOT.name, ANKLE_BOOT.read_bytes())}

    async def post_twice() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            return [await client.post("/predict", files=photo) for _ in range(2)]

    responses = asyncio.run(post_twice())

    assert [r.status_code for r in responses] == [500, 500]
    assert all(r.json() == {"error": INTERNAL_ERROR} for r in responses)
    lines = [record for record in caplog.records if "POST /predict failed" in record.message]
    assert len(lines) == 2  # one a request
    assert "RuntimeError: secret at" in lines[0].message and lines[0].exc_info is None


HOSTS = {  # --host, --allowed_hosts, and the Host headers answered and refused
    "loopback": ("127.0.0.1", [], ["127.0.0.1:8000", "LOCALHOST", "[::1]:1"], ["evil.example"]),
    "an address": ("192.0.2.7", [], ["192.0.2.7:8000"], ["127.0.0.1", "localhost"]),
    "every interface": (
        "0.0.0.0",
        [],
        ["192.0.2.7:8000", "[2001:db8::1]:80", "localhost", socket.gethostname()],
        ["evil.example", "192.0.2.7.evil.example"],
    ),
    "a name added": ("127.0.0.1", ["serve.example.org"], ["serve.example.org:80"], ["x.org"]),
    "any name": ("127.0.0.1", ["*"], ["evil.example", "anything:1"], []),
    "malformed": ("0.0.0.0", [], [], ["", "[::1", "a:b", "localhost:80:80"]),
}


@pytest.mark.parametrize("host, given, answered, refused", HOSTS.values(), ids=HOSTS)
def test_the_host_headers_answered_follow_the_listening_address(host, given, answered, refused):
    allowed = allowed_hosts(host, given)
    assert [name for name in answered if not allowed.allows(name)] == []
    assert [name for name in refused if allowed.allows(name)] == []
