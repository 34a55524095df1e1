"""Dynamic batching: the images of concurrent requests go through the network together.

Each server process has one :class:`Batcher`: a request hands it its decoded images and
waits; a background task runs the waiting images, up to ``max_batch_size``, in one
forward pass and gives each request its rows. A request with more images than that is
cut into parts of ``max_batch_size``, each queued once the one before is done, so that
no pass is larger and the requests that come meanwhile take turns with its parts. A
lone request is not held back unless ``batch_timeout`` asks. The pass runs in the event
loop itself: for this network it takes less than handing it to a thread would cost;
between two passes the loop serves whatever else is waiting.
"""

import asyncio
import contextlib

import numpy as np
import torch
from torch import Tensor, nn

Pending = tuple[np.ndarray, "asyncio.Future[Tensor]"]  # a request's images, and its answer


class Batcher:
    """Runs ``net`` on the images of concurrent requests together.

    Args:
        net: the network, in eval mode.
        max_batch_size: the most images in one forward pass (a request with more images
            is predicted in parts of this many).
        batch_timeout: the longest, in seconds, that the first request of a batch waits
            for others to join it; 0 takes only the requests already waiting.
    """

    def __init__(self, net: nn.Module, max_batch_size: int, batch_timeout: float) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be 1 or more, got {max_batch_size}.")
        if batch_timeout < 0:
            raise ValueError(f"batch_timeout must be 0 or more, got {batch_timeout}.")
        self.net = net
        self.max_batch_size = max_batch_size
        self.batch_timeout = batch_timeout
        self._waiting: asyncio.Queue[Pending] = asyncio.Queue()
        # A request that did not fit in the last batch: the first of the next one.
        self._held_over: Pending | None = None
        self._task: asyncio.Task | None = None
        self.batches = self.images = self.largest = 0  # forward passes so far, for /info

    async def probabilities(self, pixels: np.ndarray) -> Tensor:
        """The class probabilities of N×1×28×28 ``pixels`` (N×10), once their batch has run."""
        loop = asyncio.get_running_loop()
        parts = []
        for start in range(0, len(pixels), self.max_batch_size):
            future: asyncio.Future[Tensor] = loop.create_future()
            self._waiting.put_nowait((pixels[start : start + self.max_batch_size], future))
            parts.append(await future)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def stats(self) -> dict[str, int]:
        """The forward passes so far: how many, their images, the largest batch."""
        return {"batches": self.batches, "images": self.images, "largest": self.largest}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            first, self._held_over = self._held_over, None
            batch = [first or await self._waiting.get()]
            await self._fill(batch)
            self._predict(batch)
            await asyncio.sleep(0)  # a queue that never empties would otherwise hold the loop

    async def _fill(self, batch: list[Pending]) -> None:
        """Add waiting requests to ``batch`` while their images fit in a pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.batch_timeout
        count = len(batch[0][0])
        while count < self.max_batch_size:
            if self._waiting.empty():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                try:
                    pixels, future = await asyncio.wait_for(self._waiting.get(), remaining)
                except asyncio.TimeoutError:
                    return
            else:
                pixels, future = self._waiting.get_nowait()
            if count + len(pixels) > self.max_batch_size:
                self._held_over = (pixels, future)
                return
            batch.append((pixels, future))
            count += len(pixels)

    @torch.inference_mode()
    def _predict(self, batch: list[Pending]) -> None:
        images = torch.from_numpy(np.concatenate([pixels for pixels, _ in batch]))
        self.batches += 1
        self.images += len(images)
        self.largest = max(self.largest, len(images))
        try:
            probabilities = self.net(images).softmax(dim=1)
        except Exception as error:  # a broken network fails its requests, not the batcher
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        parts = probabilities.split([len(pixels) for pixels, _ in batch])
        for (_, future), part in zip(batch, parts, strict=True):
            if not future.done():  # its request may have been cancelled meanwhile
                future.set_result(part)
