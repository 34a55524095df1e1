"""The resident data path gives exactly the tutorial DataLoader's batches, only faster."""

from collections import Counter

import pytest
import torch

from fashion_lit.data import FashionMNISTDataModule
from fashion_lit.data.resident import EpochSampler, ResidentBatches
from fashion_lit.module import ImageClassifier
from tests.helpers.cli import quiet_trainer
from tests.helpers.tiny_data import TINY_TRAIN, TINY_VAL


def datamodule(data_dir, resident: bool, shuffle: bool) -> FashionMNISTDataModule:
    dm = FashionMNISTDataModule(
        data_dir=str(data_dir),
        resident=resident,
        shuffle=shuffle,
        val_size=TINY_VAL,
        batch_size=32,
        download=False,
        checksums=str(data_dir / "checksums.json"),
    )
    dm.setup("fit")
    return dm


@pytest.fixture
def data_dir(tiny_mirror, tiny_checksums, tmp_path):
    dm = FashionMNISTDataModule(
        data_dir=str(tmp_path),
        sources=[str(tiny_mirror)],
        checksums=str(tiny_checksums),
        download=False,
    )
    dm.prepare_data()
    (tmp_path / "checksums.json").write_bytes(tiny_checksums.read_bytes())
    return tmp_path


def epoch(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return list(loader)


@pytest.mark.parametrize("stage", ["train", "val", "test"])
def test_unshuffled_batches_equal_the_dataloaders_bit_for_bit(data_dir, stage):
    resident = epoch(getattr(datamodule(data_dir, True, False), f"{stage}_dataloader")())
    loader = epoch(getattr(datamodule(data_dir, False, False), f"{stage}_dataloader")())
    assert len(resident) == len(loader)
    for (x_r, y_r), (x_l, y_l) in zip(resident, loader, strict=True):
        assert x_r.dtype == x_l.dtype == torch.float32
        assert torch.equal(x_r, x_l) and torch.equal(y_r, y_l)


def test_shuffled_epoch_is_a_permutation_of_the_same_samples(data_dir):
    def samples(loader) -> Counter:
        return Counter(
            (x.numpy().tobytes(), int(y)) for xs, ys in loader for x, y in zip(xs, ys, strict=True)
        )

    resident = datamodule(data_dir, True, True).train_dataloader()
    loader = datamodule(data_dir, False, True).train_dataloader()
    assert samples(resident) == samples(loader)
    unshuffled = epoch(datamodule(data_dir, True, False).train_dataloader())
    assert not torch.equal(next(iter(resident))[1], unshuffled[0][1])


def test_shuffle_order_depends_on_the_epoch_only():
    sampler = EpochSampler(100, shuffle=True, seed=7)
    first = sampler.indices()
    assert torch.equal(first, sampler.indices())
    sampler.set_epoch(1)
    second = sampler.indices()
    assert not torch.equal(first, second)
    again = EpochSampler(100, shuffle=True, seed=7)
    again.set_epoch(1)
    assert torch.equal(again.indices(), second)


def test_lightning_sets_the_epoch_of_the_sampler(data_dir):
    dm = datamodule(data_dir, True, True)
    model = ImageClassifier()
    trainer = quiet_trainer(max_epochs=2, limit_val_batches=0, limit_train_batches=2)
    trainer.fit(model, datamodule=dm)
    assert trainer.train_dataloader.sampler.epoch == 1


def test_training_shards_are_padded_to_equal_length():
    shards = [
        EpochSampler(10, shuffle=True, seed=0, rank=r, world_size=3, pad=True) for r in range(3)
    ]
    indices = [s.indices().tolist() for s in shards]
    assert [len(i) for i in indices] == [4, 4, 4] == [len(s) for s in shards]
    assert set(sum(indices, [])) == set(range(10))


def test_evaluation_shards_count_every_sample_once():
    shards = [
        EpochSampler(10, shuffle=False, seed=0, rank=r, world_size=3, pad=False) for r in range(3)
    ]
    indices = sorted(sum((s.indices().tolist() for s in shards), []))
    assert indices == list(range(10))
    assert [len(s) for s in shards] == [4, 3, 3]


def test_batches_count_and_last_partial_batch():
    images = torch.zeros(70, 28, 28, dtype=torch.uint8)
    batches = ResidentBatches(
        images, torch.zeros(70, dtype=torch.long), 32, EpochSampler(70, shuffle=False, seed=0)
    )
    assert len(batches) == 3
    assert [len(y) for _, y in batches] == [32, 32, 6]


def test_resident_images_must_be_uint8():
    with pytest.raises(TypeError, match="uint8"):
        ResidentBatches(torch.zeros(4, 28, 28), torch.zeros(4), 2, EpochSampler(4, False, 0))


def test_full_training_split_is_resident_on_the_cpu_without_a_trainer(data_dir):
    loader = datamodule(data_dir, True, False).train_dataloader()
    assert loader.images.device.type == "cpu" and loader.images.dtype == torch.uint8
    assert len(loader.images) == TINY_TRAIN - TINY_VAL


def test_compiled_step_gives_the_eager_loss():
    torch.manual_seed(0)
    eager = ImageClassifier()
    compiled = ImageClassifier(compile=True)
    compiled.load_state_dict(eager.state_dict())
    compiled.configure_model()
    batch = (torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,)))
    eager_loss, compiled_loss = eager.model_step(batch)[0], compiled.model_step(batch)[0]
    assert torch.allclose(eager_loss, compiled_loss, rtol=1e-5, atol=1e-6)
    eager_loss.backward()
    compiled_loss.backward()
    for p_eager, p_compiled in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert torch.allclose(p_eager.grad, p_compiled.grad, rtol=1e-4, atol=1e-6)
    assert list(compiled.state_dict()) == list(eager.state_dict())
