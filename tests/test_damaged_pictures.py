"""A damaged picture ends in its own plain error wherever it comes in: ``predict`` on files,
in-process and as a command of its own, and ``serve`` over HTTP. Never a traceback, never
a 500, whatever Pillow raises and at whatever step (opening, EXIF, conversion).

The pictures are the fuzz corpus of :mod:`tests.helpers.picture_fuzz`, with damaged
pixels, headers and metadata, among them the CMYK JPEG with a damaged EXIF block that
ended ``predict`` in ``SyntaxError: not a TIFF file``.
"""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fashion_lit.images import ImageError, load_image
from tests.helpers.cli import expect_cli_error
from tests.helpers.paths import REPO
from tests.helpers.picture_fuzz import damaged_pictures
from tests.helpers.serve import Server, untrained_model


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("damaged")


@pytest.fixture(scope="module")
def model(folder) -> Path:
    return untrained_model(folder / "model.pth")


@pytest.fixture(scope="module")
def pictures(folder) -> dict[Path, str | None]:
    """The corpus as files in ``pictures/``, named by their number and seed, each with the
    message it is refused with (None for a picture that is converted), in folder order."""
    (folder / "pictures").mkdir()
    refusals = {}
    for number, (name, data) in enumerate(damaged_pictures()):
        path = folder / "pictures" / f"{number:03d}-{name.split()[0]}"
        path.write_bytes(data)
        try:
            load_image(path)
            refusals[path] = None
        except ImageError as error:
            refusals[path] = str(error)
    return dict(sorted(refusals.items()))


def check_refusal(err: str, pictures: dict[Path, str | None]) -> None:
    """``err`` is predict's refusal of the corpus: every refused picture named with its
    message, in folder order, and nothing else."""
    messages = [message for message in pictures.values() if message is not None]
    assert f"error: {len(messages)} pictures cannot be used; fix or remove them" in err
    listed = [line[4:] for line in err.splitlines() if line.startswith("  - ")]
    assert listed == messages
    assert "Traceback" not in err


def test_predict_names_each_damaged_picture_in_its_plain_error(
    run_cli, tiny_args, model, pictures, capsys
):
    assert 0 < sum(message is None for message in pictures.values()) < len(pictures)
    folder = next(iter(pictures)).parent
    err = expect_cli_error(
        run_cli,
        capsys,
        "predict",
        *tiny_args,
        f"--ckpt_path={model}",
        f"--data.predict_paths=[{folder}]",
    )
    check_refusal(err, pictures)
    assert not Path("lightning_logs").exists() or not any(Path("lightning_logs").iterdir())


def test_predict_as_a_command_ends_in_the_plain_error_with_status_2(folder, model, pictures):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fashion_lit",
            "predict",
            f"--ckpt_path={model}",
            f"--data.predict_paths=[{next(iter(pictures)).parent}]",
            "--trainer.accelerator=cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 2, done.stderr[-3000:]
    check_refusal(done.stderr, pictures)


def test_serve_answers_each_damaged_picture_with_a_4xx_naming_it(folder, model, pictures):
    options = ["--processes=1", "--batch_timeout=0.01", f"--data_dir={folder / 'no-data'}"]
    answers = {}
    with (
        Server(model, folder, *options) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        for path in pictures:
            upload = {"file": (path.name, path.read_bytes())}
            answers[path] = client.post("/predict", files=upload)
    for path, message in pictures.items():
        answer = answers[path]
        if message is None:
            assert answer.status_code == 200, (path.name, answer.text)
        else:
            assert 400 <= answer.status_code < 500, (path.name, answer.status_code, answer.text)
            assert path.name in answer.text, (path.name, answer.text)
