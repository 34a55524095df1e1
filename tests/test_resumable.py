"""The training order: a function of seed and epoch, resumable part-way through an epoch."""

import torch
from torch.utils.data import TensorDataset

from fashion_lit.data.resumable import EpochOrder, ResumableDataLoader


def test_order_depends_on_seed_and_epoch_alone():
    first, again = EpochOrder(50, shuffle=True, seed=3), EpochOrder(50, shuffle=True, seed=3)
    assert list(first) == list(again) == list(first)
    first.set_epoch(1)
    assert sorted(first) == list(range(50)) and list(first) != list(again)
    assert list(first) == list(EpochOrder(50, shuffle=True, seed=3, epoch=1))


def test_unshuffled_order_is_the_index_order():
    assert list(EpochOrder(5, shuffle=False, seed=3, epoch=4)) == [0, 1, 2, 3, 4]


def test_loader_resumed_from_its_state_serves_the_rest_of_the_epoch():
    dataset = TensorDataset(torch.arange(20))
    order = EpochOrder(20, shuffle=True, seed=0, epoch=2)
    loader = ResumableDataLoader(dataset, sampler=order, batch_size=4)
    served = iter(loader)
    first_two = [next(served), next(served)]
    state = loader.state_dict()
    assert state == {"epoch": 2, "batches_served": 2}

    resumed = ResumableDataLoader(dataset, sampler=EpochOrder(20, True, seed=0), batch_size=4)
    resumed.load_state_dict(state)
    rest = [batch[0].tolist() for batch in resumed]
    assert rest == [batch[0].tolist() for batch in served]
    assert resumed.state_dict() == {"epoch": 2, "batches_served": 5}
    assert len(list(resumed)) == 5  # the next epoch is whole again
    assert [b[0].tolist() for b in first_two] != rest[:2]
