"""``python -m fashion_lit serve``: the classifier as an HTTP service and a web page.

    python -m fashion_lit serve --config configs/quickstart.yaml --ckpt_path best
    # then open http://127.0.0.1:8000

Serves the network of anything ``predict --ckpt_path`` accepts in ``--processes`` HTTP
server processes (:mod:`.processes`), each with its own network and batcher. A bad
checkpoint is refused before the port is bound, with ``predict``'s message and status 2;
Ctrl-C or SIGTERM finishes the requests in flight, then exits with status 0.

Why FastAPI and uvicorn, not LitServe: LitServe passes every request to an inference
process and back through queues, which for this network costs more CPU time than the
rest of the service together; each of our server processes runs the network itself.
Why the defaults: the HTTP work costs far more than the network, so one process per core
(``processes=2``) and one torch thread; under load a forward pass takes the requests that
came during the previous one, so a lone request never waits (``batch_timeout=0``).
``benchmarks/serve.py`` measured all this on a 2-core machine (the README's results).
"""

import socket
import sys
from typing import Literal

from jsonargparse import ArgumentParser
from jsonargparse.typing import NonNegativeFloat, PositiveFloat, PositiveInt

from fashion_lit.checkpoints import CheckpointError, load_network
from fashion_lit.runs import ConfigFileError
from fashion_lit.serve.app import Settings
from fashion_lit.serve.processes import ServerProcessError, run_processes

PROG = "python -m fashion_lit serve"
LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class PortUnavailableError(OSError):
    """The address to listen on cannot be used."""


def serve(
    ckpt_path: str = "best",
    config: str | None = None,
    host: str = "127.0.0.1",
    port: PositiveInt = 8000,
    data_dir: str = "data",
    max_request_mb: PositiveFloat = 10.0,
    max_batch_size: PositiveInt = 32,
    batch_timeout: NonNegativeFloat = 0.0,
    processes: PositiveInt = 2,
    torch_threads: PositiveInt = 1,
    log_level: LogLevel = "info",
    access_log: bool = False,
) -> None:
    """Serve a checkpoint's network over HTTP until Ctrl-C or SIGTERM.

    Args:
        ckpt_path: best/last of the most recent run, a checkpoint file or URL, or a
            state_dict such as the tutorial's model.pth.
        config: the training config (e.g. configs/quickstart.yaml): best and last then
            look for runs where its logger writes them, in the run it names if it names
            one, as test does; otherwise in lightning_logs/.
        host: the address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (all).
        port: the port to listen on.
        data_dir: the data folder whose FashionMNIST test images the page shows at random.
        max_request_mb: the largest request accepted, in megabytes (10^6 bytes).
        max_batch_size: the most images in one forward pass of the network.
        batch_timeout: the longest, in seconds, a batch waits for more requests; 0 takes
            only the requests already waiting.
        processes: HTTP server processes, each with its copy of the network.
        torch_threads: PyTorch threads per process.
        log_level: uvicorn's log level.
        access_log: log every request (costs time under load).
    """
    loaded = load_network(ckpt_path, config)
    check_port(host, port)
    settings = Settings(
        ckpt_path=str(loaded.path),  # the server processes share this one's folder
        data_dir=data_dir,
        max_request_mb=max_request_mb,
        max_batch_size=max_batch_size,
        batch_timeout=batch_timeout,
        torch_threads=torch_threads,
        processes=processes,
    )
    shown_host = f"[{host}]" if ":" in host else host
    print(f"Serving {loaded.path} at http://{shown_host}:{port}/ (Ctrl-C stops)", flush=True)
    run_processes(settings, host, port, processes, log_level=log_level, access_log=access_log)
    print("Server stopped.")


def check_port(host: str, port: int) -> None:
    """Raise :class:`PortUnavailableError` if ``host:port`` cannot be listened on now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except (OSError, OverflowError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise PortUnavailableError(
                f"--host {host} --port {port}: cannot listen there ({reason}); stop what "
                "uses it, or pass another --port."
            ) from error


def main(args: list[str] | None = None) -> None:
    """Parse the ``serve`` subcommand's options and serve; bad input ends with status 2."""
    parser = ArgumentParser(
        prog=PROG,
        description="Serve a checkpoint's network over HTTP: POST /predict, GET /health, "
        "GET /info, /openapi.json, and a page at / to try your own pictures.",
        allow_abbrev=False,
    )
    parser.add_function_arguments(serve)
    config = parser.parse_args(args)
    try:
        serve(**config.as_dict())
    except CheckpointError as error:
        parser.error(f"--ckpt_path {config.ckpt_path}: {error}")
    except (ConfigFileError, PortUnavailableError) as error:
        parser.error(str(error))
    except ServerProcessError as error:
        sys.stderr.write(f"error: {error}\n")
        raise SystemExit(1) from error
