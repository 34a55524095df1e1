"""Training loaders that a run resumed part-way through an epoch continues exactly.

Lightning saves a training loader's ``state_dict`` and gives it back on a mid-epoch
resume; these loaders count the batches they hand out, so the epoch continues with the
next one, not the first. The order comes from an :class:`EpochSampler`.
"""

from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader

from fashion_lit.data.sampling import EpochSampler


class CountsBatches:
    """The resumable state of a loader with ``sampler`` (an EpochSampler) and ``batch_size``."""

    sampler: EpochSampler
    batch_size: int
    batches_served: int = 0

    def _count_from_start(self) -> None:
        self.batches_served = self.sampler.start // self.batch_size

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.sampler.epoch, "batches_served": self.batches_served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.set_epoch(state["epoch"])
        self.sampler.start = state["batches_served"] * self.batch_size


class ResumableDataLoader(CountsBatches, DataLoader):
    """The tutorial's DataLoader over an :class:`EpochSampler`, resumable mid-epoch.

    Takes the DataLoader's own arguments; ``sampler`` must be an ``EpochSampler``.
    """

    def __init__(self, dataset: Any, sampler: EpochSampler, **kwargs: Any) -> None:
        super().__init__(dataset, sampler=sampler, **kwargs)

    def __iter__(self) -> Iterator[Any]:
        self._count_from_start()
        for batch in super().__iter__():
            self.batches_served += 1
            yield batch
