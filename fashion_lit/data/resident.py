"""Batches cut from image tensors that stay on the training device.

The tutorial's DataLoader converts every image from PIL to a tensor, one at a time, in
Python, on every epoch: for a model this small that costs more than the training itself.
Here the whole split stays as one uint8 tensor on the device and a batch is an indexing
operation, ``images[idx].float() / 255`` — bit for bit what ``ToTensor`` gives.
"""

import math
from collections.abc import Iterator

import torch
from torch import Tensor

from fashion_lit.data.augment import augmented
from fashion_lit.data.resumable import CountsBatches
from fashion_lit.data.sampling import EpochSampler


class ResidentBatches(CountsBatches):
    """An iterable of ``(images, targets)`` batches over device-resident tensors.

    Lightning takes it as a dataloader: it calls ``sampler.set_epoch``, reads
    ``batch_sampler``, and saves ``state_dict`` in checkpoints for a mid-epoch resume.
    """

    batch_sampler = None

    def __init__(
        self,
        images: Tensor,
        targets: Tensor,
        batch_size: int,
        sampler: EpochSampler,
        augment: bool = False,
    ) -> None:
        if images.dtype != torch.uint8:
            raise TypeError(f"images must be uint8 (0-255), got {images.dtype}")
        self.images, self.targets = images, targets
        self.batch_size = batch_size
        self.sampler = sampler
        self.augment = augment  # mirrored and shifted variants (fashion_lit.data.augment)

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        self._count_from_start()
        first = self.sampler.start // self.batch_size  # after a resume mid-epoch, not 0
        for number, chunk in enumerate(self.sampler.indices().split(self.batch_size), first):
            self.batches_served += 1
            images = self.images[chunk]
            if self.augment:
                images = augmented(images, self.sampler.seed, self.sampler.epoch, number)
            # Same arithmetic as ToTensor: uint8 → float32, then divide by 255.
            yield images.unsqueeze(1).float().div(255), self.targets[chunk]
