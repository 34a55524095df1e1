"""The page of ``python -m fashion_lit serve`` with a trained network and the real data.

A network trained briefly on the real FashionMNIST (120 steps: about 80% accuracy) is
enough to call the README's photo an ankle boot, and the real test images feed the
page's random-image button. Needs the data in ``data/`` (``make data``), hence ``slow``.
"""

import re
import subprocess
import sys

import httpx
import pytest
import torch
from PIL import Image
from torchvision.datasets import FashionMNIST

from fashion_lit.network import NeuralNetwork
from tests.helpers.paths import REPO
from tests.helpers.serve import ANKLE_BOOT, Server, debian_chromium

pytestmark = pytest.mark.slow
DATA = REPO / "data"


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    train = FashionMNIST(DATA, train=True)
    images, labels = train.data.float().div(255)[:, None], train.targets
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = NeuralNetwork()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batches this small train several times faster on one thread
    for _ in range(120):
        batch = torch.randint(len(labels), (128,), generator=generator)
        loss = torch.nn.functional.cross_entropy(net(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.set_num_threads(threads)
    path = tmp_path_factory.mktemp("trained") / "model.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def server(trained_model):
    with Server(
        trained_model, trained_model.parent, "--processes=1", f"--data_dir={DATA}"
    ) as server:
        yield server


@pytest.fixture
def page(server):
    with debian_chromium() as browser:
        page = browser.new_page()
        page.goto(server.url)
        yield page


def test_page_calls_the_readmes_photo_an_ankle_boot_with_the_services_probability(page, server):
    answer = httpx.post(
        f"{server.url}/predict", files={"file": (ANKLE_BOOT.name, ANKLE_BOOT.read_bytes())}
    ).json()["predictions"][0]

    page.set_input_files("#file", ANKLE_BOOT)

    page.wait_for_selector(".top3 li")
    assert page.inner_text(".verdict") == "Ankle boot"
    first = page.locator(".top3 li").first
    assert first.locator(".name").inner_text() == "Ankle boot"
    assert first.locator(".probability").inner_text() == f"{100 * answer['probability']:.1f}%"


def test_random_test_image_shows_its_true_class_and_the_networks(page, trained_model):
    page.wait_for_selector("#random:enabled")
    page.click("#random")

    page.wait_for_selector(".truth:not([hidden])")
    truth = page.inner_text(".truth")
    index, article, actual = re.match(r"Test image (\d+): (an?) (.+), so the", truth).groups()
    assert article == ("an" if actual[0] in "AEIOU" else "a")
    test_set = FashionMNIST(DATA, train=False)
    assert actual == test_set.classes[test_set.targets[int(index)]]
    net = NeuralNetwork()
    net.load_state_dict(torch.load(trained_model, weights_only=True))
    with torch.inference_mode():
        predicted = net(test_set.data[int(index)].float().div(255)[None, None]).argmax()
    assert page.inner_text(".verdict") == test_set.classes[predicted]
    assert page.locator(".original-figure").is_hidden()


def test_the_readmes_screenshot_script_pictures_the_page(server, tmp_path):
    output = tmp_path / "page.png"
    subprocess.run(
        [sys.executable, "docs/serve_screenshot.py", f"--url={server.url}", f"--output={output}"],
        cwd=REPO,
        check=True,
    )
    with Image.open(output) as picture:
        assert picture.width == 1000 and picture.height >= 640
