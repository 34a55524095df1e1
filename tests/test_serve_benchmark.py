"""The contestants of ``benchmarks/serve.py`` answer what fashion_lit's server answers.

A benchmark that times a service which answers something else measures nothing; these
run each contestant's request handling in this process (the timing itself, with
``hey`` and real processes, is ``make bench-serve``'s job).
"""

import asyncio
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from benchmarks.serve import baseline_app, multipart_body, parse_hey
from benchmarks.serve_litserve import ClassifierAPI
from fashion_lit.checkpoints import load_network
from fashion_lit.images import decode_image
from fashion_lit.serve.inputs import Images
from fashion_lit.serve.predictions import answer
from tests.helpers.processes import run_from_repo
from tests.helpers.serve import ANKLE_BOOT, untrained_model

BOOT = decode_image(ANKLE_BOOT.read_bytes(), ANKLE_BOOT.name)[None].numpy()


def fashion_lit_answer(model: Path, pixels: np.ndarray, names: list[str] | None) -> dict:
    with torch.inference_mode():
        probabilities = load_network(str(model)).net(torch.from_numpy(pixels)).softmax(dim=1)
    return answer(Images(pixels, names), probabilities)


def test_the_naive_baseline_answers_the_top_3_of_fashion_lit(tmp_path):
    model = untrained_model(tmp_path / "model.pth")
    expected = fashion_lit_answer(model, BOOT, [ANKLE_BOOT.name])["predictions"][0]

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=baseline_app(str(model)))
        async with httpx.AsyncClient(transport=transport, base_url="http://baseline") as client:
            photo = (ANKLE_BOOT.name, ANKLE_BOOT.read_bytes())
            return await client.post("/predict", files={"file": photo})

    response = asyncio.run(post())

    assert response.status_code == 200
    served = response.json()["predictions"][0]
    assert served["top3"] == expected["top3"]
    assert served["top3_probabilities"] == pytest.approx(expected["top3_probabilities"], abs=1e-5)


def test_the_litserve_variant_batches_requests_and_answers_each_as_fashion_lit(tmp_path):
    model = untrained_model(tmp_path / "model.pth")
    api = ClassifierAPI(str(model), max_batch_size=8, batch_timeout=0.001)
    api.setup("cpu")
    arrays = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    requests = [Images(BOOT, ["boot.png"]), Images(arrays, None)]
    contexts = [{}, {}]

    inputs = [api.decode_request(r, c) for r, c in zip(requests, contexts, strict=True)]
    outputs = api.unbatch(api.predict(api.batch(inputs)), contexts)
    answers = [api.encode_response(o, c) for o, c in zip(outputs, contexts, strict=True)]

    for request, served in zip(requests, answers, strict=True):
        with torch.inference_mode():
            alone = fashion_lit_answer(model, request.pixels, request.names)
        assert [p["top3"] for p in served["predictions"]] == [
            p["top3"] for p in alone["predictions"]
        ]


def test_the_benchmark_posts_the_photo_as_a_file_part():
    body = multipart_body(ANKLE_BOOT)
    assert b'name="file"; filename="ankle-boot.png"' in body
    assert ANKLE_BOOT.read_bytes() in body


HEY_SUMMARY = """
Summary:
  Total:\t4.1000 secs
  Requests/sec:\t1219.5121

Latency distribution:
  10% in 0.0100 secs
  50% in 0.0224 secs
  99% in 0.0778 secs

Status code distribution:
  [200]\t4990 responses
  [500]\t2 responses

Error distribution:
  [8]\tPost "http://127.0.0.1:1/predict": dial tcp: connection refused
"""


def test_heys_summary_is_read_with_every_failure_counted():
    assert parse_hey(HEY_SUMMARY) == pytest.approx((1219.5121, 22.4, 77.8, 10))


def test_the_startup_measurement_times_serve_beside_the_import_of_lightning():
    done = run_from_repo([sys.executable, "benchmarks/serve.py", "startup", "--runs", "1"])

    assert done.returncode == 0, done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("Medians of 1 runs") and "serve answers /health after" in summary
    assert "import lightning.pytorch takes" in summary
