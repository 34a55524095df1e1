"""A training DataLoader that a resumed run replays exactly, from any batch.

A shuffling ``DataLoader`` draws each epoch's order from the global random generator,
whose state is not in Lightning's checkpoints, so a run resumed at epoch 2 would see
epoch 1's order again. ``EpochOrder`` makes the order a function of the seed and the
epoch alone, as ``DistributedSampler`` does (Lightning calls ``set_epoch`` on it before
every epoch). ``ResumableDataLoader`` counts the batches it has handed out; Lightning
saves that count in the checkpoint (``state_dict``) and gives it back on a mid-epoch
resume (``load_state_dict``), so the epoch continues with the next batch instead of
starting again from its first.
"""

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler


class EpochOrder(Sampler[int]):
    """Indices ``0..size-1``, shuffled per epoch by ``seed + epoch`` (or in order).

    Args:
        size: the number of items.
        shuffle: permute them; otherwise every epoch goes in index order.
        seed: with the epoch, seeds the permutation.
        epoch: the epoch the first iteration belongs to.
    """

    def __init__(self, size: int, shuffle: bool, seed: int, epoch: int = 0) -> None:
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = epoch
        self.start = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        # A resumed epoch skips what was already trained on, once.
        start, self.start = self.start, 0
        return iter(order[start:])

    def __len__(self) -> int:
        return self.size


class ResumableDataLoader(DataLoader):
    """A DataLoader over an ``EpochOrder`` that can resume part-way through an epoch.

    Takes the DataLoader's own arguments; ``sampler`` must be an ``EpochOrder``.
    """

    def __init__(self, dataset: Any, sampler: EpochOrder, **kwargs: Any) -> None:
        super().__init__(dataset, sampler=sampler, **kwargs)
        self.batches_served = 0

    def __iter__(self) -> Iterator[Any]:
        self.batches_served = self.sampler.start // self.batch_size
        for batch in super().__iter__():
            self.batches_served += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.sampler.epoch, "batches_served": self.batches_served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.set_epoch(state["epoch"])
        self.sampler.start = state["batches_served"] * self.batch_size
