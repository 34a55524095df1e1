"""The service as a FastAPI application, built by :func:`create_app` in each server process.

Its routes: ``POST /predict``, ``GET /health``, ``GET /info``, the page at ``/`` (its
assets under ``/static``, so it works offline), ``GET /examples/random`` for the page,
and FastAPI's ``/openapi.json``. Every error, FastAPI's own included, is answered as JSON
``{"error": "..."}``, so the page and programs read one shape.
"""

from collections.abc import AsyncIterator
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
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from fashion_lit.checkpoints import LoadedNetwork, load_network
from fashion_lit.data.facts import CLASSES
from fashion_lit.serve.batching import Batcher
from fashion_lit.serve.examples import Examples, read_examples
from fashion_lit.serve.inputs import REQUEST_BODY, BodyLimit, Images, read_images
from fashion_lit.serve.predictions import answer

STATIC = Path(__file__).parent / "static"
PACKAGES = ("fashion-lit", "torch", "lightning", "fastapi", "uvicorn")


class ErrorAnswer(BaseModel):
    """Every error: what was wrong, and what to do."""

    error: str


@dataclass(frozen=True)
class Settings:
    """What shapes the service in each process: ``serve``'s options of the same names
    (see ``python -m fashion_lit serve --help``), ``ckpt_path`` already checked."""

    ckpt_path: str
    data_dir: str
    max_request_mb: float
    max_batch_size: int
    batch_timeout: float
    torch_threads: int
    processes: int


def create_app(settings: Settings) -> FastAPI:
    """The application: the network loaded, the batcher started with the server."""
    torch.set_num_threads(settings.torch_threads)
    loaded = load_network(settings.ckpt_path)
    examples = read_examples(settings.data_dir)
    batcher = Batcher(loaded.net, settings.max_batch_size, settings.batch_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title="fashion_lit",
        version=package_version("fashion-lit"),
        description="The PyTorch Quickstart's FashionMNIST classifier: post pictures, "
        "get the top 3 classes of each.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=int(settings.max_request_mb * 1e6))
    add_predict(app, batcher)
    add_status(app, loaded, examples, settings, batcher)
    add_page(app, examples)
    answer_errors_as_json(app)
    return app


def add_predict(app: FastAPI, batcher: Batcher) -> None:
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
    app: FastAPI, loaded: LoadedNetwork, examples: Examples, settings: Settings, batcher: Batcher
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
        """Also the forward passes so far of the server process that answers (``batching``)."""
        return {**about, "batching": batcher.stats()}


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

    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"error": f"Internal server error: {error!r}"}, 500)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, internal_error)  # a bug: still answered as JSON


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
