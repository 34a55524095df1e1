"""The HTTP server processes: a uvicorn server in each, each on its own listening socket.

uvicorn's ``--workers`` share one socket, and the first to wake takes every waiting
connection (we saw 32/0 of 32 keep-alive connections): one core did the work of two.
Here each process binds its own with ``SO_REUSEPORT``, and the kernel spreads them.

On Linux the servers are forked from the parent once it has imported the service and
loaded the network and the test images, so they start at once and share that memory;
elsewhere fork is unsafe (macOS) or missing (Windows), and they are spawned, to import
everything again. The parent only watches: on Ctrl-C or SIGTERM it sends each server
SIGTERM, which finishes its requests in flight; if one ends by itself, the others are
stopped, and it says so. Each server watches its parent in turn and stops the same way
once the parent is gone, however it went (SIGKILL, say), so none is left holding the port.
"""

import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import wait
from typing import Any

import uvicorn

from fashion_lit.checkpoints import LoadedNetwork
from fashion_lit.serve.app import Settings, create_app
from fashion_lit.serve.connections import Connections, guarded
from fashion_lit.serve.examples import Examples

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: How often a server looks whether its parent is still there, in seconds.
PARENT_CHECK_S = 0.25


class ServerProcessError(RuntimeError):
    """A server process ended without being asked to."""


def run_processes(
    settings: Settings,
    loaded: LoadedNetwork,
    examples: Examples,
    port: int,
    **uvicorn_options: Any,
) -> None:
    """Serve with ``settings.processes`` server processes until Ctrl-C or SIGTERM, then
    stop them."""
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    children = [
        context.Process(
            target=serve_in_this_process,
            args=(settings, loaded, examples, port, os.getpid(), uvicorn_options),
            name=f"fashion_lit-server-{number}",
        )
        for number in range(settings.processes)
    ]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous: dict[int, Any] = {}
    try:
        for child in children:
            child.start()
        # Only now, so that a forked server does not inherit this handler.
        previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
        while not stopping and all(child.is_alive() for child in children):
            wait([child.sentinel for child in children], timeout=0.5)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for child in children:
            if child.pid is not None:
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
    settings: Settings,
    loaded: LoadedNetwork,
    examples: Examples,
    port: int,
    parent: int,
    uvicorn_options: dict[str, Any],
) -> None:
    """One server process: the application, served on a socket of its own."""
    # Ctrl-C reaches every process of the group; the parent stops this one (SIGTERM).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stop_when_orphaned(parent)
    host = settings.host
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    connections = Connections(settings.max_connections, settings.header_timeout)
    app = create_app(settings, loaded, examples, connections)
    config = uvicorn.Config(app, host=host, port=port, http=guarded(connections), **uvicorn_options)
    uvicorn.Server(config).run(sockets=[listener])


def stop_when_orphaned(parent: int) -> None:
    """SIGTERM to this process once ``parent`` is no longer its parent process.

    A polling thread, not Linux's parent-death signal: it works wherever ``getppid`` does,
    and a forked server's parent is the process that forked it, which is the one to watch.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
