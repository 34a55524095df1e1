"""The order of the training samples: a function of the seed and the epoch alone.

A shuffling ``DataLoader`` draws its order from the global generator, which checkpoints
do not hold, so a resumed run would repeat an order. ``EpochSampler``'s is a function of
``(seed, epoch)``, as ``DistributedSampler``'s, and can start mid-epoch, for a resume.
"""

import math
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    """One rank's sample indices for one epoch, reshuffled per epoch from a seed.

    Args:
        size: the number of samples.
        shuffle: a new random order each epoch, else ``0 … size-1``.
        seed: with the epoch, seeds the permutation.
        epoch: the epoch of the first iteration.
        rank, world_size: this process's share when training on several.
        pad: repeat samples so that every rank gets the same count, as
            ``DistributedSampler`` does; needed for training (every rank must take the
            same number of steps), unwanted for evaluation (each sample counts once).
        device: where :meth:`indices` puts the index tensor.
    """

    def __init__(
        self,
        size: int,
        shuffle: bool,
        seed: int,
        epoch: int = 0,
        rank: int = 0,
        world_size: int = 1,
        pad: bool = True,
        device: torch.device | str = "cpu",
    ) -> None:
        self.size, self.shuffle, self.seed, self.epoch = size, shuffle, seed, epoch
        self.rank, self.world_size, self.pad = rank, world_size, pad
        self.device = torch.device(device)
        self.start = 0  # samples of this epoch already trained on (a mid-epoch resume)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.pad:
            return math.ceil(self.size / self.world_size)
        return len(range(self.rank, self.size, self.world_size))

    def indices(self) -> Tensor:
        """This epoch's remaining indices for this rank, on ``device``.

        A start offset set for a resumed epoch applies once; the next epoch is whole.
        """
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.arange(self.size)
        if self.pad and self.size % self.world_size:
            padding = self.world_size - self.size % self.world_size
            order = torch.cat([order, order[:padding]])
        start, self.start = self.start, 0
        return order[self.rank :: self.world_size][start:].to(self.device)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())
