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
The limits (``max_request_mb``, ``max_request_megapixels``, ``header_timeout``,
``max_connections``, ``allowed_hosts``) are what a stranger on the network could
otherwise use to stall the service; each is checked before the work it guards.
"""

import resource
import socket
import sys
from typing import Any, Literal

import torch
from jsonargparse.typing import NonNegativeFloat, PositiveFloat, PositiveInt

from fashion_lit.checkpoints import CheckpointError, load_network
from fashion_lit.checkpoints.reading import add_network_option
from fashion_lit.parser import CommandParser
from fashion_lit.runs import ConfigFileError
from fashion_lit.serve.app import Settings
from fashion_lit.serve.connections import default_max_connections
from fashion_lit.serve.examples import read_examples
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
    allowed_hosts: list[str] | None = None,
    data_dir: str = "data",
    max_request_mb: PositiveFloat = 10.0,
    max_request_megapixels: PositiveFloat = 50.0,
    max_batch_size: PositiveInt = 32,
    batch_timeout: NonNegativeFloat = 0.0,
    processes: PositiveInt = 2,
    torch_threads: PositiveInt = 1,
    header_timeout: PositiveFloat = 10.0,
    max_connections: PositiveInt | None = None,
    log_level: LogLevel = "info",
    access_log: bool = False,
    net: Any = None,
) -> None:
    """Serve a checkpoint's network over HTTP until Ctrl-C or SIGTERM.

    Args:
        ckpt_path: best/last of the most recent run, a checkpoint file or URL, or a
            state_dict such as the tutorial's model.pth.
        config: the training config (e.g. configs/quickstart.yaml): best and last then
            look for runs where its logger writes them, in the run it names if it names
            one, as test does; otherwise in lightning_logs/.
        net: the network's class path and init_args (--model.net), when neither the
            config nor the checkpoint says (a plain state_dict records no class).
        host: the address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (all).
        port: the port to listen on.
        allowed_hosts: more names that requests may give in their Host header, as a
            list ('[serve.example.org]'; '["*"]' for any), beyond those of --host:
            127.0.0.1, localhost and [::1] for a loopback address; the address itself
            for another; any IP address, localhost and this machine's hostname for
            0.0.0.0 or ::. Others are refused (DNS rebinding).
        data_dir: the data folder whose FashionMNIST test images the page shows at random.
        max_request_mb: the largest request accepted, in megabytes (10^6 bytes).
        max_request_megapixels: the most pixels a request's pictures may hold in all, in
            millions (width × height, read from their headers before any is decoded).
        max_batch_size: the most images in one forward pass of the network.
        batch_timeout: the longest, in seconds, a batch waits for more requests; 0 takes
            only the requests already waiting.
        processes: HTTP server processes, each with its copy of the network.
        torch_threads: PyTorch threads per process.
        header_timeout: the seconds a client has to send a request's headers, from the
            connection's opening (or the request's first byte); then it is closed.
        max_connections: the most connections per process; at the cap a new one closes
            the oldest still without its headers. Default: 1000, or the open-file limit
            (ulimit -n) less 64 if lower.
        log_level: uvicorn's log level.
        access_log: log every request (costs time under load).
    """
    # The servers are forked from this process (see .processes): loading on one thread
    # leaves no thread pool behind, which a forked process could not use.
    torch.set_num_threads(1)
    loaded = load_network(ckpt_path, config, net)
    check_port(host, port)
    settings = Settings(
        ckpt_path=str(loaded.path),
        host=host,
        allowed_hosts=tuple(allowed_hosts or ()),
        data_dir=data_dir,
        max_request_mb=max_request_mb,
        max_request_megapixels=max_request_megapixels,
        max_batch_size=max_batch_size,
        batch_timeout=batch_timeout,
        header_timeout=header_timeout,
        max_connections=max_connections or default_max_connections(descriptor_limit()),
        torch_threads=torch_threads,
        processes=processes,
    )
    examples = read_examples(data_dir)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"Serving {loaded.path} at http://{shown_host}:{port}/ (Ctrl-C stops)", flush=True)
    run_processes(settings, loaded, examples, port, log_level=log_level, access_log=access_log)
    print("Server stopped.")


def descriptor_limit() -> int:
    """The files this process may open (its soft ``RLIMIT_NOFILE``)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


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
    parser = CommandParser(
        prog=PROG,
        description="Serve a checkpoint's network over HTTP: POST /predict, GET /health, "
        "GET /info, /openapi.json, and a page at / to try your own pictures.",
        allow_abbrev=False,
    )
    parser.add_function_arguments(serve, skip={"net"})
    add_network_option(parser)
    config = parser.parse_args(args)
    options = config.as_dict()
    net = (options.pop("model", None) or {}).get("net")
    try:
        serve(**options, net=net)
    except CheckpointError as error:
        parser.error(f"--ckpt_path {config.ckpt_path}: {error}")
    except (ConfigFileError, PortUnavailableError) as error:
        parser.error(str(error))
    except ServerProcessError as error:
        sys.stderr.write(f"error: {error}\n")
        raise SystemExit(1) from error
