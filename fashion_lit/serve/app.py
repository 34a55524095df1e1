"""The service as a FastAPI application, built by :func:`create_app` in each server process.

Its routes: ``POST /predict``, ``GET /health``, ``GET /info``, the page at ``/`` (its
assets under ``/static``, so it works offline), ``GET /examples/random`` for the page,
and FastAPI's ``/openapi.json`` with ``/docs``, the Swagger UI page that draws it. FastAPI's
own ``/docs`` loads its script and style from a CDN, and is blank offline; fastapi-offline
ships them, serves them from here, and builds the same page on them. (ReDoc's ``/redoc`` is
left out: its script fetches its logo from its makers' site.)

Every error, FastAPI's own included, is answered as JSON ``{"error": "..."}``, so the page
and programs read one shape; a request whose ``Host`` the server does not answer is
refused first (:mod:`.hosts`), and a failure of the service itself is answered with a 500
that tells nothing of its insides, while the log gets one line that does.
"""

import logging
import os
import traceback
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import torch
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fashion_lit.checkpoints import LoadedNetwork
from fashion_lit.data.facts import CLASSES
from fashion_lit.serve.batching import Batcher
from fashion_lit.serve.connections import Connections
from fashion_lit.serve.examples import Examples
from fashion_lit.serve.hosts import HostCheck, allowed_hosts
from fashion_lit.serve.inputs import REQUEST_BODY, BodyLimit, ImageReader, Images
from fashion_lit.serve.predictions import answer

STATIC = Path(__file__).parent / "static"
PACKAGES = ("fashion-lit", "torch", "lightning", "fastapi", "uvicorn")
#: uvicorn's logger for errors, so that the service's lines read as the server's own.
LOG = logging.getLogger("uvicorn.error")
INTERNAL_ERROR = (
    "Internal server error: the service failed on this request (its log says why). "
    "Try again; if it fails again, report it."
)


class ErrorAnswer(BaseModel):
    """Every error: what was wrong, and what to do."""

    error: str


@dataclass(frozen=True)
class Settings:
    """What shapes the service in each process: ``serve``'s options of the same names
    (see ``python -m fashion_lit serve --help``), ``ckpt_path`` already checked and
    ``max_connections`` worked out."""

    ckpt_path: str
    host: str
    allowed_hosts: tuple[str, ...]
    data_dir: str
    max_request_mb: float
    max_request_megapixels: float
    max_batch_size: int
    batch_timeout: float
    header_timeout: float
    max_connections: int
    torch_threads: int
    processes: int


def create_app(
    settings: Settings,
    loaded: LoadedNetwork,
    examples: Examples,
    connections: Connections | None = None,
) -> FastAPI:
    """The application of ``loaded``'s network, its batcher started with the server;
    ``/info`` also reports the ``connections`` of the process, if given."""
    torch.set_num_threads(settings.torch_threads)
    batcher = Batcher(loaded.net, settings.max_batch_size, settings.batch_timeout)
    # One thread: the server processes already keep every core busy, and more threads
    # would only hold more large pictures in memory at once.
    decoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()
        decoder.shutdown(wait=False, cancel_futures=True)

    app = FastAPIOffline(
        redoc_url=None,
        title="fashion_lit",
        version=package_version("fashion-lit"),
        description="The PyTorch Quickstart's FashionMNIST classifier: post pictures, "
        "get the top 3 classes of each.",
        lifespan=lifespan,
    )
    # The last added runs first: the Host is checked before anything else is done.
    app.add_middleware(BodyLimit, max_bytes=int(settings.max_request_mb * 1e6))
    app.add_middleware(AnswerFailuresPlainly)
    app.add_middleware(HostCheck, allowed=allowed_hosts(settings.host, settings.allowed_hosts))
    add_predict(app, batcher, ImageReader(settings.max_request_megapixels, decoder))
    add_status(app, loaded, examples, settings, batcher, connections)
    add_page(app, examples)
    answer_errors_as_json(app)
    return app


def add_predict(app: FastAPI, batcher: Batcher, read_images: ImageReader) -> None:
    @app.post(
        "/predict",
        summary="Classify pictures: the top 3 classes of each",
        openapi_extra={"requestBody": REQUEST_BODY},
        responses={status: {"model": ErrorAnswer} for status in (400, 413, 415)},
    )
    async def predict(
        images: Annotated[Images, Depends(read_images)],
        with_image: Annotated[
            bool, Query(description="Add each picture as the model saw it (28×28, in [0, 1]).")
        ] = False,
    ) -> dict[str, Any]:
        """One prediction per picture, in the order sent, with the fields of a row of
        ``predict``'s JSON output: ``path`` (the file's name) or ``index`` (the array's
        position), ``predicted``, ``predicted_name``, ``probability``, ``top3``,
        ``top3_names`` and ``top3_probabilities``."""
        return answer(images, await batcher.probabilities(images.pixels), with_image)


def add_status(
    app: FastAPI,
    loaded: LoadedNetwork,
    examples: Examples,
    settings: Settings,
    batcher: Batcher,
    connections: Connections | None,
) -> None:
    about = {
        "checkpoint": str(loaded.path),
        "run_dir": str(loaded.run_dir) if loaded.run_dir is not None else None,
        "val_acc": loaded.val_acc,
        "classes": list(CLASSES),
        "versions": {name: package_version(name) for name in PACKAGES},
        "settings": asdict(settings),
        "examples": {"count": len(examples), "note": examples.note},
    }

    @app.get("/health", summary="Whether the service is ready: the network is loaded")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/info", summary="The model served, the package versions and the settings")
    async def info() -> dict[str, Any]:
        """Also, for the server process that answers, its id (``process``), the forward
        passes so far (``batching``) and its connections (``connections``)."""
        now: dict[str, Any] = {"process": os.getpid(), "batching": batcher.stats()}
        if connections is not None:
            now["connections"] = connections.stats()
        return {**about, **now}


def add_page(app: FastAPI, examples: Examples) -> None:
    """The page at ``/``, its assets, and the test images its button shows."""

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/examples/random", summary="A FashionMNIST test image and its true class")
    async def random_example() -> dict[str, Any]:
        if not len(examples):
            raise HTTPException(404, examples.note)
        return examples.pick()


def answer_errors_as_json(app: FastAPI) -> None:
    """``{"error": message}`` for every HTTP error, FastAPI's own included."""

    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, error.status_code, error.headers)

    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        where = ".".join(map(str, first.get("loc", ())))
        return JSONResponse({"error": f"{where}: {first.get('msg')}"}, 422)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


class AnswerFailuresPlainly:
    """ASGI middleware: an exception that escapes the application (a bug, a failing
    network) is answered with a 500 that says nothing of it, and logged in one line.

    The exception's text may tell a stranger about the server's insides (paths, versions,
    data), so the answer carries none of it. Starlette's own handler for ``Exception``
    would also re-raise it, for uvicorn to log a whole traceback on every such request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_the_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_the_start)
        except Exception as error:
            LOG.error("%s %s failed: %s", scope["method"], scope["path"], one_line(error))
            if not started:
                await JSONResponse({"error": INTERNAL_ERROR}, 500)(scope, receive, send)


def one_line(error: BaseException) -> str:
    """What failed and where, without the traceback: ``Type: message (file:line in f)``."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
