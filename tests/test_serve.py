"""``python -m fashion_lit serve`` over real HTTP, and its page in a real browser.

One server for the module, started as a subprocess on a free port of 127.0.0.1: one
process (so that ``/info`` reports the batches of the process that answered them), a
batch window of 50 ms (so that requests sent together are batched together), a 1 MB
request limit, and a data folder without FashionMNIST (the page's test-image button is
then disabled). The network is the tutorial's with seeded untrained weights: what is
checked is that the service answers what ``predict`` answers, whatever the weights.
"""

import asyncio
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import torch
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from fashion_lit.checkpoints import load_network
from fashion_lit.images import FORMATS, IMAGE_SUFFIXES, decode_image
from tests.helpers.serve import (
    ANKLE_BOOT,
    Server,
    blank_png,
    debian_chromium,
    untrained_model,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def model(folder) -> Path:
    return untrained_model(folder / "model.pth")


@pytest.fixture(scope="module")
def server(folder, model):
    options = ["--processes=1", "--batch_timeout=0.05", "--max_request_mb=1"]
    with Server(model, folder, *options, f"--data_dir={folder / 'no-data'}") as server:
        yield server


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def pictures(folder) -> list[Path]:
    """The README's photo, a JPEG, and a PNG with transparency: three conversion paths."""
    rng = np.random.default_rng(0)
    jpeg, rgba = folder / "noise.jpg", folder / "shirt-on-alpha.png"
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(jpeg, quality=90)
    shirt = np.zeros((50, 50, 4), dtype=np.uint8)
    shirt[10:40, 15:35] = (30, 30, 30, 255)
    Image.fromarray(shirt, "RGBA").save(rgba)
    return [ANKLE_BOOT, jpeg, rgba]


def network_probabilities(model: Path, images: torch.Tensor) -> torch.Tensor:
    """What the network says, computed here, apart from the server."""
    with torch.inference_mode():
        return load_network(str(model)).net(images).softmax(dim=1)


def upload(client: httpx.Client, *paths: Path, **params) -> httpx.Response:
    files = [("file", (path.name, path.read_bytes())) for path in paths]
    return client.post("/predict", files=files, params=params)


def assert_same_prediction(served: dict, expected: dict) -> None:
    for key in ("predicted", "predicted_name", "top3", "top3_names"):
        assert served[key] == expected[key], key
    assert served["probability"] == pytest.approx(expected["probability"], abs=1e-5)
    assert served["top3_probabilities"] == pytest.approx(expected["top3_probabilities"], abs=1e-5)


def assert_answers(response: httpx.Response, model: Path, images: torch.Tensor) -> None:
    """``response`` holds the network's top 3 for each of ``images``, in order."""
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    probabilities = network_probabilities(model, images)
    top = probabilities.topk(3, dim=1)
    assert len(predictions) == len(images)
    for prediction, indices, values in zip(predictions, top.indices, top.values, strict=True):
        assert prediction["top3"] == indices.tolist()
        assert prediction["top3_probabilities"] == pytest.approx(values.tolist(), abs=1e-5)


def test_health_says_the_service_is_ready(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_info_names_the_checkpoint_classes_versions_and_settings(client, model, server):
    info = client.get("/info").json()
    assert info["checkpoint"] == str(model)
    assert info["run_dir"] is None and info["val_acc"] is None  # a plain state_dict
    assert info["classes"][0] == "T-shirt/top" and info["classes"][9] == "Ankle boot"
    assert info["versions"]["torch"] == version("torch")
    assert info["settings"]["batch_timeout"] == 0.05 and info["settings"]["processes"] == 1
    command = server.process.pid  # `serve` forks its one server process
    assert (
        str(info["process"]) in Path(f"/proc/{command}/task/{command}/children").read_text().split()
    )


def test_uploads_are_predicted_as_the_predict_command_predicts_them(
    client, pictures, model, run_cli, workdir
):
    output = workdir / "predictions.json"
    run_cli(
        "predict",
        f"--ckpt_path={model}",
        f"--data.predict_paths=[{','.join(map(str, pictures))}]",
        f"--prediction.output={output}",
        "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false",
    )
    expected = json.loads(output.read_text())

    response = upload(client, *pictures)

    assert response.status_code == 200, response.text
    served = response.json()["predictions"]
    assert [p["path"] for p in served] == [picture.name for picture in pictures]
    for prediction, row in zip(served, expected, strict=True):
        assert_same_prediction(prediction, row)


def test_an_array_is_predicted_as_the_same_picture_uploaded_as_a_file(client, folder):
    gray = np.zeros((28, 28), dtype=np.uint8)  # a dark border, as FashionMNIST's pictures
    gray[4:24, 6:22] = np.random.default_rng(1).integers(0, 256, (20, 16))
    png = folder / "gray.png"
    Image.fromarray(gray).save(png)

    from_file = upload(client, png).json()["predictions"][0]
    from_array = client.post("/predict", json={"images": [(gray / 255).tolist()]})

    assert from_array.status_code == 200, from_array.text
    prediction = from_array.json()["predictions"][0]
    assert prediction["index"] == 0 and "path" not in prediction
    assert_same_prediction(prediction, from_file)


def test_the_answer_shows_each_picture_as_the_model_saw_it(client):
    response = upload(client, ANKLE_BOOT, with_image="true")
    seen = np.array(response.json()["predictions"][0]["image"])
    expected = decode_image(ANKLE_BOOT.read_bytes(), ANKLE_BOOT.name)[0].numpy()
    assert seen.shape == (28, 28)
    np.testing.assert_allclose(seen, expected, atol=1e-4)


def test_64_concurrent_requests_are_all_answered_correctly_in_batches(client, server, model):
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    batches_before = client.get("/info").json()["batching"]

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as concurrent:
            return await asyncio.gather(
                *(
                    concurrent.post("/predict", json={"images": [image[0].tolist()]})
                    for image in images
                )
            )

    responses = asyncio.run(send_all())

    for response, image in zip(responses, images, strict=True):
        assert_answers(response, model, image[None])
    batches = client.get("/info").json()["batching"]
    assert batches["images"] - batches_before["images"] == 64
    assert batches["batches"] - batches_before["batches"] < 64  # some were batched together


def test_a_bad_and_a_good_upload_sent_together_get_a_400_and_the_right_answer(
    client, server, model, folder
):
    text = folder / "notes.txt"
    text.write_text("not a picture")
    boot = decode_image(ANKLE_BOOT.read_bytes(), ANKLE_BOOT.name)[None]

    async def send_both() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as concurrent:
            return await asyncio.gather(
                concurrent.post("/predict", files={"file": (text.name, text.read_bytes())}),
                concurrent.post(
                    "/predict", files={"file": (ANKLE_BOOT.name, ANKLE_BOOT.read_bytes())}
                ),
            )

    bad, good = asyncio.run(send_both())

    assert (
        bad.status_code == 400
        and "notes.txt is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture" in bad.json()["error"]
    )
    assert_answers(good, model, boot)


def truncated_png() -> bytes:
    picture = io.BytesIO()
    Image.new("L", (64, 64), 200).save(picture, "PNG")
    return picture.getvalue()[:60]


def chunked(body: bytes):
    """A body sent without Content-Length (chunked), so the limit is found while reading."""
    yield from (body[i : i + 65536] for i in range(0, len(body), 65536))


def file_part(name: str, data: bytes) -> dict:
    return {"files": {"file": (name, data)}}


def arrays(*images: list) -> dict:
    return {"json": {"images": list(images)}}


def sent_as(content_type: str, body) -> dict:
    return {"content": body, "headers": {"Content-Type": content_type}}


ROW, TWO_MB = [0.5] * 28, bytes(2_000_000)
BAD_INPUTS = {  # what is sent: the status and a part of the message expected
    "not an image": (
        file_part("notes.txt", b"list"),
        400,
        "notes.txt is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture",
    ),
    "empty file": (file_part("empty.png", b""), 400, "empty.png is empty"),
    "damaged picture": (file_part("cut.png", truncated_png()), 400, "cut.png"),
    "over the size limit": (file_part("big.png", TWO_MB), 413, "larger than 1 MB"),
    "over the size limit, chunked": (
        sent_as("application/json", chunked(TWO_MB)),
        413,
        "larger than 1 MB",
    ),
    "missing form field": (
        {"files": {"image": ("boot.png", b"x")}},
        400,
        "No form part named 'file' (parts sent: 'image')",
    ),
    "text instead of a file": (
        {"data": {"file": "boot.png"}, "files": {"n": ("n.txt", b"")}},
        400,
        "is text, not a file",
    ),
    "no body": ({}, 415, "Content type 'none' is not accepted"),
    "plain text": (sent_as("text/plain", b"boot"), 415, "'text/plain' is not accepted"),
    "malformed JSON": (sent_as("application/json", b"{"), 400, "Invalid JSON"),
    "no images": (arrays(), 400, "Invalid JSON at images"),
    "not numbers": (arrays([["x"] * 28] * 28), 400, "images[0][0][0]"),
    "numbers as strings": (arrays([["0.5"] * 28] * 28), 400, "images[0][0][0]: Input should be"),
    "booleans": (arrays([ROW] * 27 + [[True] * 28]), 400, "images[0][27][0]: Input should be"),
    "wrong shape": (arrays([ROW] * 27), 400, "images[0] is 27×28, not 28×28"),
    "ragged rows": (arrays([ROW] * 27 + [[0.5] * 3]), 400, "not 28×28"),
    "out of range": (arrays([ROW] * 27 + [[255.0] * 28]), 400, "outside [0, 1] (from 0.5 to 255)"),
    "bad query": ({**arrays([ROW] * 28), "params": {"with_image": "maybe"}}, 422, "with_image"),
}


@pytest.mark.parametrize("request_options, status, message", BAD_INPUTS.values(), ids=BAD_INPUTS)
def test_bad_input_gets_a_4xx_that_names_the_problem_and_the_next_request_is_served(
    client, model, request_options, status, message
):
    response = client.post("/predict", **request_options)

    assert response.status_code == status
    assert message in response.json()["error"]
    assert_answers(
        upload(client, ANKLE_BOOT), model, decode_image(ANKLE_BOOT.read_bytes(), "")[None]
    )


def test_a_decompression_bomb_gets_a_4xx_and_the_next_request_is_served(client, model):
    bomb = blank_png(13500)  # 182 megapixels
    response = client.post("/predict", files={"file": ("bomb.png", bomb)})

    assert 400 <= response.status_code < 500 and "bomb.png" in response.json()["error"]
    assert_answers(
        upload(client, ANKLE_BOOT), model, decode_image(ANKLE_BOOT.read_bytes(), "")[None]
    )


def test_pictures_over_the_megapixel_limit_get_a_413_before_any_is_decoded(client):
    # Two 39-megapixel headers over 78 megapixels: decoding would fail (the data is cut
    # short), so the 413 shows that the sizes were judged before.
    cut = blank_png(6245)[:200]
    files = [("file", (f"cut-{n}.png", cut)) for n in range(2)]

    response = client.post("/predict", files=files)

    assert response.status_code == 413
    error = response.json()["error"]
    assert "hold 78.0 megapixels" in error and "limit of 50" in error
    assert "--max_request_megapixels" in error


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:1", "[::1]:8000"])
def test_a_loopback_server_answers_its_loopback_names_at_any_port(client, host):
    assert client.get("/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "10.0.0.1"])
def test_a_foreign_host_gets_a_400_that_names_it(client, host):
    response = client.get("/health", headers={"Host": host})

    assert response.status_code == 400
    error = response.json()["error"]
    assert f"Host {host!r}" in error and "localhost" in error and "--allowed_hosts" in error


def test_unknown_paths_and_methods_answer_with_json_errors(client):
    assert client.get("/nothing-here").json() == {"error": "Not Found"}
    wrong_method = client.get("/predict")
    assert wrong_method.status_code == 405 and wrong_method.json() == {
        "error": "Method Not Allowed"
    }


def test_openapi_describes_both_ways_to_send_pictures(client):
    operation = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    content = operation["requestBody"]["content"]
    assert content["multipart/form-data"]["schema"]["required"] == ["file"]
    assert "images" in content["application/json"]["schema"]["properties"]
    assert [p["name"] for p in operation["parameters"]] == ["with_image"]


def test_test_images_are_refused_with_a_note_when_the_data_is_absent(client, folder):
    response = client.get("/examples/random")
    assert response.status_code == 404
    note = response.json()["error"]
    assert str(folder / "no-data") in note and "make data" in note
    assert client.get("/info").json()["examples"] == {"count": 0, "note": note}


# The page, in Debian's Chromium driven by Playwright.


@pytest.fixture(scope="module")
def browser():
    with debian_chromium() as browser:
        yield browser


@contextmanager
def opened(browser: Browser, url: str) -> Iterator[Page]:
    """``url`` in a new tab; ``page.requested`` lists every URL the tab asked for."""
    page = browser.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.goto(url)
    yield page
    page.close()


def hosts_asked(page: Page) -> set[tuple[str, str]]:
    """The schemes and hosts of what ``page`` asked for, less its own blob: and data: URLs."""
    return {urlsplit(url)[:2] for url in page.requested if not url.startswith(("blob:", "data:"))}


@pytest.fixture
def page(browser, server):
    """The page, opened."""
    with opened(browser, server.url) as page:
        yield page


def read_top3(result: Locator) -> list[tuple[str, str]]:
    """The top 3 a result of the page shows: each class and its probability."""
    result.locator(".top3 li").first.wait_for()
    rows = result.locator(".top3 li")
    return [
        (
            rows.nth(i).locator(".name").inner_text(),
            rows.nth(i).locator(".probability").inner_text(),
        )
        for i in range(rows.count())
    ]


def shown_top3(prediction: dict) -> list[tuple[str, str]]:
    """How the page shows a prediction of ``/predict``'s answer."""
    return [
        (name, f"{100 * probability:.1f}%")
        for name, probability in zip(
            prediction["top3_names"], prediction["top3_probabilities"], strict=True
        )
    ]


def test_page_shows_the_top_3_of_an_uploaded_photo_and_what_the_model_saw(page, client):
    answer = upload(client, ANKLE_BOOT, with_image="true").json()["predictions"][0]

    page.set_input_files("#file", ANKLE_BOOT)

    result = page.locator(".result")
    assert read_top3(result) == shown_top3(answer)
    assert result.locator(".file-name").inner_text() == ANKLE_BOOT.name
    drawn = result.locator(".seen").evaluate(
        "canvas => Array.from(canvas.getContext('2d')"
        ".getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))"
    )
    expected_gray = np.round(255 * np.array(answer["image"])).astype(int).ravel()
    np.testing.assert_allclose(drawn, expected_gray, atol=1)


def test_the_file_chooser_offers_every_format_the_server_reads(page):
    chooser = page.locator("#file")

    accepted = set(chooser.get_attribute("accept").split(","))

    assert accepted == {Image.MIME[name] for name in FORMATS} | set(IMAGE_SUFFIXES)
    assert chooser.get_attribute("multiple") is not None


def drop_files(page: Page, paths: list[Path]) -> None:
    """Drop ``paths`` on the page's drop zone at once, as a file manager would."""
    files = [{"name": path.name, "bytes": list(path.read_bytes())} for path in paths]
    transfer = page.evaluate_handle(
        """files => {
            const transfer = new DataTransfer();
            for (const file of files) {
                transfer.items.add(new File([new Uint8Array(file.bytes)], file.name));
            }
            return transfer;
        }""",
        files,
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


@pytest.mark.parametrize("how", ["chosen", "dropped"])
def test_page_answers_each_of_several_files_with_its_name(page, client, pictures, folder, how):
    text = folder / "notes.txt"
    text.write_text("not a picture")
    given = [pictures[1], text, ANKLE_BOOT]
    answers = upload(client, pictures[1], ANKLE_BOOT).json()["predictions"]

    if how == "chosen":
        page.set_input_files("#file", given)
    else:
        drop_files(page, given)

    results = page.locator(".result")
    expect(results).to_have_count(3)
    names = [results.nth(i).locator(".file-name").inner_text() for i in range(3)]
    assert names == [path.name for path in given]
    assert read_top3(results.nth(0)) == shown_top3(answers[0])
    assert read_top3(results.nth(2)) == shown_top3(answers[1])
    expect(results.nth(1).locator(".error")).to_contain_text(
        "notes.txt is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture"
    )
    assert results.nth(1).locator(".top3 li").count() == 0


def test_page_shows_the_servers_message_for_a_text_file(page, folder):
    text = folder / "notes.txt"
    text.write_text("not a picture")

    page.set_input_files("#file", text)

    error = page.locator(".result .error")
    expect(error).to_contain_text("notes.txt is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture")
    assert page.locator(".result .seen").is_hidden()


def test_page_asks_no_other_host_for_anything(page, server, pictures):
    page.set_input_files("#file", pictures)
    expect(page.locator(".result .top3 li")).to_have_count(3 * len(pictures))
    page.wait_for_load_state("networkidle")

    assert hosts_asked(page) == {("http", f"127.0.0.1:{server.port}")}
    assert any(url.endswith("/static/page.js") for url in page.requested)
    assert sum(url.endswith("/predict?with_image=true") for url in page.requested) == len(pictures)


def test_page_disables_the_test_image_button_with_a_note_without_the_data(page):
    page.wait_for_function("document.getElementById('random-note').textContent.length > 0")
    assert page.locator("#random").is_disabled()
    assert "make data" in page.inner_text("#random-note")


def test_page_names_a_class_with_the_article_it_takes(page):
    named = page.evaluate("['Ankle boot', 'T-shirt/top', 'Bag'].map(withArticle)")
    assert named == ["an Ankle boot", "a T-shirt/top", "a Bag"]


def test_the_apis_page_draws_its_routes_without_asking_another_host(browser, server):
    with opened(browser, f"{server.url}/docs") as page:
        expect(
            page.get_by_text("Classify pictures: the top 3 classes of each").first
        ).to_be_visible()
        page.wait_for_load_state("networkidle")

        assert hosts_asked(page) == {("http", f"127.0.0.1:{server.port}")}


@pytest.mark.parametrize("path", ["/docs", "/static-offline-docs/swagger-ui-bundle.js"])
def test_a_foreign_host_gets_no_api_page(client, path):
    response = client.get(path, headers={"Host": "attacker.example"})

    assert response.status_code == 400 and "Host 'attacker.example'" in response.json()["error"]
