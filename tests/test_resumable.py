"""The training order: a function of seed and epoch, resumable part-way through an epoch."""

import torch
from torch.utils.data import TensorDataset

from fashion_lit.data.resident import ResidentBatches
from fashion_lit.data.resumable import ResumableDataLoader
from fashion_lit.data.sampling import EpochSampler


def test_order_depends_on_seed_and_epoch_alone():
    first, again = EpochSampler(50, shuffle=True, seed=3), EpochSampler(50, shuffle=True, seed=3)
    assert list(first) == list(again) == list(first)
    first.set_epoch(1)
    assert sorted(first) == list(range(50)) and list(first) != list(again)
    assert list(first) == list(EpochSampler(50, shuffle=True, seed=3, epoch=1))


def test_unshuffled_order_is_the_index_order():
    assert list(EpochSampler(5, shuffle=False, seed=3, epoch=4)) == [0, 1, 2, 3, 4]


def test_loader_resumed_from_its_state_serves_the_rest_of_the_epoch():
    dataset = TensorDataset(torch.arange(20))
    order = EpochSampler(20, shuffle=True, seed=0, epoch=2)
    loader = ResumableDataLoader(dataset, sampler=order, batch_size=4)
    served = iter(loader)
    first_two = [next(served), next(served)]
    state = loader.state_dict()
    assert state == {"epoch": 2, "batches_served": 2}

    resumed = ResumableDataLoader(dataset, sampler=EpochSampler(20, True, seed=0), batch_size=4)
    resumed.load_state_dict(state)
    rest = [batch[0].tolist() for batch in resumed]
    assert rest == [batch[0].tolist() for batch in served]
    assert resumed.state_dict() == {"epoch": 2, "batches_served": 5}
    assert len(list(resumed)) == 5  # the next epoch is whole again
    assert [b[0].tolist() for b in first_two] != rest[:2]


def test_resident_batches_resumed_from_their_state_serve_the_rest_of_the_epoch():
    images = torch.arange(20, dtype=torch.uint8).view(20, 1, 1).expand(20, 28, 28).contiguous()
    targets = torch.arange(20)
    batches = ResidentBatches(images, targets, 4, EpochSampler(20, True, seed=0, epoch=2))
    served = iter(batches)
    next(served), next(served)
    state = batches.state_dict()
    assert state == {"epoch": 2, "batches_served": 2}

    resumed = ResidentBatches(images, targets, 4, EpochSampler(20, True, seed=0))
    resumed.load_state_dict(state)
    assert [y.tolist() for _, y in resumed] == [y.tolist() for _, y in served]
    assert resumed.state_dict() == {"epoch": 2, "batches_served": 5}
