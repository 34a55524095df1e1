"""The batcher: concurrent requests through one forward pass, each answered with its rows."""

import asyncio

import numpy as np
import pytest
import torch
from torch import nn

from fashion_lit.network import NeuralNetwork
from fashion_lit.serve.batching import Batcher


@pytest.fixture
def net() -> nn.Module:
    torch.manual_seed(0)
    return NeuralNetwork().eval()


def requests(*counts: int) -> list[np.ndarray]:
    """One array of ``count`` random 1×28×28 images per request."""
    rng = np.random.default_rng(0)
    return [rng.random((count, 1, 28, 28), dtype=np.float32) for count in counts]


async def served(batcher: Batcher, *arrays: np.ndarray, gap_s: float = 0.0) -> list[torch.Tensor]:
    """Send the requests ``gap_s`` apart (at once by default) and wait for every answer."""
    batcher.start()

    async def send(number: int, pixels: np.ndarray) -> torch.Tensor:
        await asyncio.sleep(number * gap_s)
        return await batcher.probabilities(pixels)

    try:
        return await asyncio.gather(*(send(n, pixels) for n, pixels in enumerate(arrays)))
    finally:
        await batcher.stop()


def expected(net: nn.Module, pixels: np.ndarray) -> torch.Tensor:
    with torch.inference_mode():
        return net(torch.from_numpy(pixels)).softmax(dim=1)


def test_requests_waiting_together_go_through_one_forward_pass(net):
    batcher = Batcher(net, max_batch_size=32, batch_timeout=0)
    arrays = requests(1, 2, 1, 3)

    answers = asyncio.run(served(batcher, *arrays))

    assert batcher.stats() == {"batches": 1, "images": 7, "largest": 7}
    for answer, pixels in zip(answers, arrays, strict=True):
        torch.testing.assert_close(answer, expected(net, pixels), atol=1e-6, rtol=0)


def test_a_request_that_does_not_fit_goes_first_into_the_next_pass(net):
    batcher = Batcher(net, max_batch_size=4, batch_timeout=0)
    arrays = requests(3, 3, 1)

    answers = asyncio.run(served(batcher, *arrays))

    assert batcher.stats() == {"batches": 2, "images": 7, "largest": 4}  # 3, then 3 + 1
    assert [len(answer) for answer in answers] == [3, 3, 1]


def test_a_request_larger_than_a_batch_is_predicted_in_passes_of_at_most_a_batch(net):
    batcher = Batcher(net, max_batch_size=4, batch_timeout=0)
    (pixels,) = requests(10)

    (answer,) = asyncio.run(served(batcher, pixels))

    assert batcher.stats() == {"batches": 3, "images": 10, "largest": 4}  # 4, 4, then 2
    torch.testing.assert_close(answer, expected(net, pixels), atol=1e-6, rtol=0)


def test_other_requests_are_served_between_the_passes_of_a_large_one(net):
    batcher = Batcher(net, max_batch_size=4, batch_timeout=0)
    large, small = requests(40, 1)
    finished: list[str] = []

    async def both() -> None:
        batcher.start()
        try:

            async def send(name: str, pixels: np.ndarray) -> None:
                await batcher.probabilities(pixels)
                finished.append(name)

            await asyncio.gather(send("large", large), send("small", small))
        finally:
            await batcher.stop()

    asyncio.run(both())

    assert finished == ["small", "large"]  # its 10 passes did not hold the small one back


def test_without_a_timeout_a_request_does_not_wait_for_the_next_one(net):
    batcher = Batcher(net, max_batch_size=32, batch_timeout=0)
    asyncio.run(served(batcher, *requests(1, 1), gap_s=0.2))
    assert batcher.stats()["batches"] == 2


def test_with_a_timeout_a_request_waits_for_company_until_the_batch_is_full(net):
    batcher = Batcher(net, max_batch_size=2, batch_timeout=60)  # full, it runs at once
    asyncio.run(served(batcher, *requests(1, 1), gap_s=0.2))
    assert batcher.stats()["batches"] == 1


class FailsOnce(nn.Module):
    """A network whose first forward pass fails."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.failed = net, False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.failed:
            self.failed = True
            raise RuntimeError("out of memory, say")
        return self.net(x)


def test_a_failing_pass_fails_its_requests_and_the_next_ones_are_served(net):
    batcher = Batcher(FailsOnce(net), max_batch_size=32, batch_timeout=0)

    async def two_rounds() -> torch.Tensor:
        batcher.start()
        try:
            with pytest.raises(RuntimeError, match="out of memory"):
                await batcher.probabilities(requests(1)[0])
            return await batcher.probabilities(requests(1)[0])
        finally:
            await batcher.stop()

    torch.testing.assert_close(asyncio.run(two_rounds()), expected(net, requests(1)[0]))


@pytest.mark.parametrize("size, timeout", [(0, 0.0), (4, -1.0)])
def test_bad_settings_are_refused(net, size, timeout):
    with pytest.raises(ValueError, match="max_batch_size|batch_timeout"):
        Batcher(net, max_batch_size=size, batch_timeout=timeout)
