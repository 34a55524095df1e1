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


class EpochSampler:
    """The order of one epoch's samples for one rank, reshuffled per epoch from a seed.

    Lightning calls ``set_epoch`` at the start of every epoch (as for a
    ``DistributedSampler``), so the order depends only on ``(seed, epoch)`` and a resumed
    run sees the same orders as an uninterrupted one.

    Args:
        size: the number of samples.
        shuffle: a new random order each epoch, else ``0 … size-1``.
        seed: the base seed of the shuffling.
        rank, world_size: this process's share when training on several.
        pad: repeat samples so that every rank gets the same count, as
            ``DistributedSampler`` does; needed for training (every rank must take the
            same number of steps), unwanted for evaluation (each sample counts once).
        device: where the index tensor lives (the images' device).
    """

    def __init__(
        self,
        size: int,
        shuffle: bool,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        pad: bool = True,
        device: torch.device | str = "cpu",
    ) -> None:
        self.size, self.shuffle, self.seed = size, shuffle, seed
        self.rank, self.world_size, self.pad = rank, world_size, pad
        self.device = torch.device(device)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.pad:
            return math.ceil(self.size / self.world_size)
        return len(range(self.rank, self.size, self.world_size))

    def indices(self) -> Tensor:
        """This epoch's sample indices for this rank, on ``device``."""
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.arange(self.size)
        if self.pad and self.size % self.world_size:
            padding = self.world_size - self.size % self.world_size
            order = torch.cat([order, order[:padding]])
        return order[self.rank :: self.world_size].to(self.device)


class ResidentBatches:
    """An iterable of ``(images, targets)`` batches over device-resident tensors.

    Lightning accepts any sized iterable as a dataloader; it finds ``sampler.set_epoch``
    the way it does on a DataLoader, and reads ``batch_sampler`` (none here) to tell
    whether the loader shuffles.
    """

    batch_sampler = None

    def __init__(self, images: Tensor, targets: Tensor, batch_size: int, sampler: EpochSampler) -> None:
        if images.dtype != torch.uint8:
            raise TypeError(f"images must be uint8 (0-255), got {images.dtype}")
        self.images, self.targets = images, targets
        self.batch_size = batch_size
        self.sampler = sampler

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for chunk in self.sampler.indices().split(self.batch_size):
            # Same arithmetic as ToTensor: uint8 → float32, then divide by 255.
            yield self.images[chunk].unsqueeze(1).float().div(255), self.targets[chunk]
