"""The HTTP server processes: a uvicorn server in each, each on its own listening socket.

uvicorn's ``--workers`` share one socket, and the first to wake takes every waiting
connection (we saw 32/0 of 32 keep-alive connections): one core did the work of two.
Here each process binds its own with ``SO_REUSEPORT``, and the kernel spreads them.
The parent only watches: on Ctrl-C or SIGTERM it sends each server SIGTERM, which finishes
its requests in flight; if one ends by itself, the others are stopped, and it says so.
"""

import multiprocessing
import signal
import socket
from multiprocessing.connection import wait
from typing import Any

import uvicorn

from fashion_lit.serve.app import Settings, create_app


class ServerProcessError(RuntimeError):
    """A server process ended without being asked to."""


def run_processes(
    settings: Settings, host: str, port: int, processes: int, **uvicorn_options: Any
) -> None:
    """Serve with ``processes`` server processes until Ctrl-C or SIGTERM, then stop them."""
    spawn = multiprocessing.get_context("spawn")  # a clean interpreter, whatever the parent
    children = [
        spawn.Process(
            target=serve_in_this_process,
            args=(settings, host, port, uvicorn_options),
            name=f"fashion_lit-server-{number}",
        )
        for number in range(processes)
    ]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        for child in children:
            child.start()
        while not stopping and all(child.is_alive() for child in children):
            wait([child.sentinel for child in children], timeout=0.5)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for child in children:
            child.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if not stopping:
        ended = next(child for child in children if child.exitcode is not None)
        raise ServerProcessError(
            f"Server process {ended.name} ended with status {ended.exitcode} (see its "
            "messages above); the others were stopped."
        )


def serve_in_this_process(
    settings: Settings, host: str, port: int, uvicorn_options: dict[str, Any]
) -> None:
    """One server process: the application, served on a socket of its own."""
    # Ctrl-C reaches every process of the group; the parent stops this one (SIGTERM).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    config = uvicorn.Config(create_app(settings), host=host, port=port, **uvicorn_options)
    uvicorn.Server(config).run(sockets=[listener])
