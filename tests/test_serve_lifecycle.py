"""``python -m fashion_lit serve`` starting and stopping: bad checkpoints, busy ports, signals,
a killed parent, and what starting imports."""

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.helpers.cli import expect_cli_error
from tests.helpers.processes import run_from_repo
from tests.helpers.serve import ANKLE_BOOT, Server, untrained_model


def error_line(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if line.startswith("error:"))


BAD_CHECKPOINTS = {  # what --ckpt_path names, and what is written there first
    "missing": ("model.ckpt", None),
    "corrupt": ("model.ckpt", b"not a checkpoint"),
    "best, without runs": ("best", None),
}


@pytest.mark.parametrize("given, content", BAD_CHECKPOINTS.values(), ids=BAD_CHECKPOINTS)
def test_a_bad_checkpoint_is_refused_with_predicts_message_and_status_2(
    run_cli, capsys, workdir, given, content
):
    if content is not None:
        (workdir / given).write_bytes(content)
    predict_error = expect_cli_error(
        run_cli, capsys, "predict", f"--ckpt_path={given}", f"--data.predict_paths=[{ANKLE_BOOT}]"
    )

    serve_error = expect_cli_error(run_cli, capsys, "serve", f"--ckpt_path={given}")

    assert error_line(serve_error) == error_line(predict_error)
    assert error_line(serve_error).startswith(f"error: --ckpt_path {given}: ")


def test_the_checkpoint_is_checked_before_the_port(run_cli, capsys, workdir):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        error = expect_cli_error(
            run_cli, capsys, "serve", "--ckpt_path=missing.ckpt", f"--port={port}"
        )
    assert "--ckpt_path missing.ckpt: " in error_line(error)


def test_a_port_in_use_is_refused_with_status_2(run_cli, capsys, workdir):
    model = untrained_model(workdir / "model.pth")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        error = expect_cli_error(run_cli, capsys, "serve", f"--ckpt_path={model}", f"--port={port}")
    assert f"--host 127.0.0.1 --port {port}: cannot listen there" in error_line(error)
    assert "pass another --port" in error


def multipart_upload(port: int) -> tuple[bytes, bytes]:
    """A ``POST /predict`` of the README's photo, as its head and its body."""
    boundary = "lifecycle"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="boot.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + ANKLE_BOOT.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
    ).encode()
    return head, body


def wait_until_refused(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.1)
    raise AssertionError(f"port {port} still accepts connections after {timeout} s")


def read_until_closed(connection: socket.socket) -> bytes:
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    return answer


STOPS = {  # how the server is stopped, and its number of server processes
    "SIGTERM to the server": (lambda server: os.kill(server.process.pid, signal.SIGTERM), 2),
    "Ctrl-C in its terminal": (Server.ctrl_c, 1),
}


@pytest.mark.parametrize("stop, processes", STOPS.values(), ids=STOPS)
def test_stopping_finishes_the_request_in_flight_then_exits_0(tmp_path, stop, processes):
    model = untrained_model(tmp_path / "model.pth")
    server = Server(model, tmp_path, f"--processes={processes}", "--data_dir=no-data")
    head, body = multipart_upload(server.port)
    with server, socket.create_connection(("127.0.0.1", server.port), timeout=60) as connection:
        connection.sendall(head + body[:100])  # the request is in flight: half of it is here
        time.sleep(0.5)

        stop(server)
        wait_until_refused(server.port)  # no new connection is accepted
        connection.sendall(body[100:])
        answer = read_until_closed(connection)

        assert answer.startswith(b"HTTP/1.1 200 OK")
        prediction = json.loads(answer.partition(b"\r\n\r\n")[2])["predictions"][0]
        assert prediction["path"] == "boot.png" and len(prediction["top3"]) == 3
        assert server.process.wait(60) == 0
        assert len(server.processes) > processes  # the parent and its server processes
        assert psutil.wait_procs(server.processes, timeout=30)[1] == []  # none left running
        assert b"Server stopped." in server.log.read_bytes()


def test_serve_with_a_runs_config_serves_the_best_checkpoint_of_that_run(
    run_cli, tiny_args, workdir
):
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1", "--trainer.logger.init_args.version=meant")
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")  # the most recent run, not meant
    config = workdir / "lightning_logs" / "meant" / "config.yaml"
    with Server("best", workdir, f"--config={config}", "--processes=1") as server:
        about = httpx.get(f"{server.url}/info", timeout=10).json()
    assert Path(about["run_dir"]).resolve() == config.parent.resolve()
    assert Path(about["checkpoint"]).name.startswith("epoch00-val_acc")


def test_killing_the_main_process_leaves_no_server_listening_within_2_s(tmp_path):
    model = untrained_model(tmp_path / "model.pth")
    with Server(model, tmp_path, "--data_dir=no-data") as server:
        servers = server.processes[1:]
        assert len(servers) == 2

        os.kill(server.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_until_refused(server.port, timeout=2)
        with socket.socket() as again:  # as a new serve's check of the port binds it
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", server.port))

        assert time.monotonic() - killed < 2
        assert psutil.wait_procs(servers, timeout=10)[1] == []


def test_serving_imports_neither_lightning_nor_torchvision():
    code = (
        "import sys\n"
        "import fashion_lit.serve.command, fashion_lit.serve.processes, fashion_lit.serve.app\n"
        "print(sorted(n for n in ('lightning', 'torchvision', 'torch') if n in sys.modules))"
    )
    done = run_from_repo([sys.executable, "-c", code])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['torch']"]
