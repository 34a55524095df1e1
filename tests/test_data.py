"""The DataModule: a stable split and tutorial-shaped batches (acquisition: test_acquire.py)."""

import pytest
import torch
from lightning.pytorch import seed_everything
from torchvision.datasets import MNIST, FashionMNIST
from torchvision.transforms import ToTensor

from fashion_lit.batches import IMAGE, INDEX, TARGET
from fashion_lit.data import CLASSES, DataNotFoundError, FashionMNISTDataModule
from fashion_lit.data.acquire import raw_folder
from fashion_lit.data.facts import FILES, MNIST_GZ_MD5, UPSTREAM_MIRRORS
from tests.helpers.tiny_data import TINY_TEST, TINY_TRAIN, TINY_VAL


@pytest.fixture
def datamodule(tiny_mirror, tiny_checksums, tmp_path) -> FashionMNISTDataModule:
    dm = FashionMNISTDataModule(
        data_dir=str(tmp_path / "data"),
        sources=[str(tiny_mirror)],
        checksums=str(tiny_checksums),
        download=False,
        val_size=TINY_VAL,
        batch_size=32,
    )
    dm.prepare_data()
    dm.setup("fit")
    return dm


def reading(datamodule: FashionMNISTDataModule, **options) -> FashionMNISTDataModule:
    """Another DataModule over the same acquired files, with other options."""
    return FashionMNISTDataModule(
        data_dir=datamodule.data_dir, checksums=datamodule.checksums, download=False, **options
    )


def test_setup_never_acquires(tiny_mirror, tiny_checksums, tmp_path):
    dm = FashionMNISTDataModule(
        data_dir=str(tmp_path / "data"), sources=[str(tiny_mirror)], checksums=str(tiny_checksums)
    )
    with pytest.raises(DataNotFoundError, match="setup never downloads"):
        dm.setup("fit")
    assert not raw_folder(tmp_path / "data").exists()


def test_split_sizes(datamodule):
    assert len(datamodule.train_set) == TINY_TRAIN - TINY_VAL
    assert len(datamodule.val_set) == TINY_VAL
    assert len(datamodule.test_set) == TINY_TEST


def test_train_and_validation_are_disjoint(datamodule):
    train, val = set(datamodule.train_set.indices), set(datamodule.val_set.indices)
    assert not train & val
    assert train | val == set(range(TINY_TRAIN))


def test_setup_twice_keeps_the_same_split(datamodule):
    before = list(datamodule.val_set.indices)
    datamodule.setup("fit")
    datamodule.setup("test")
    assert list(datamodule.val_set.indices) == before


def test_split_moves_with_split_seed_not_with_the_global_seed(datamodule):
    def split(global_seed: int, split_seed: int) -> list[int]:
        seed_everything(global_seed)
        dm = reading(datamodule, val_size=TINY_VAL, split_seed=split_seed)
        dm.setup("fit")
        return list(dm.val_set.indices)

    assert split(0, 42) == split(1, 42) == list(datamodule.val_set.indices)
    assert split(0, 43) != split(0, 42)


def test_batches_are_float_images_in_unit_range_with_int_labels(datamodule):
    images, labels = next(iter(datamodule.train_dataloader()))
    assert images.dtype == torch.float32 and images.shape == (32, 1, 28, 28)
    assert labels.dtype == torch.int64 and labels.shape == (32,)
    assert images.min() >= 0 and images.max() <= 1
    assert images.max() == 1  # the bright band is 255, so ToTensor's scaling is 1/255


def test_no_validation_split_validates_on_the_test_set(datamodule):
    dm = reading(datamodule, val_size=0)
    dm.setup("fit")
    assert dm.val_set is dm.test_set
    assert len(dm.train_set) == TINY_TRAIN


def test_validation_size_must_leave_training_images(datamodule):
    dm = reading(datamodule, val_size=TINY_TRAIN)
    with pytest.raises(ValueError, match="data.val_size"):
        dm.setup("fit")


def test_predict_batches_carry_labels_and_original_indices(datamodule):
    datamodule.predict_indices = [5, 0]
    batch = next(iter(datamodule.predict_dataloader()))
    assert batch[INDEX].tolist() == [5, 0]
    assert batch[TARGET].tolist() == [datamodule.test_set[5][1], datamodule.test_set[0][1]]
    assert batch[IMAGE].shape == (2, 1, 28, 28)


def test_predict_index_out_of_range_is_named(datamodule):
    datamodule.predict_indices = [0, TINY_TEST]
    with pytest.raises(IndexError, match=rf"\[{TINY_TEST}\] are out of range"):
        datamodule.predict_dataloader()


def test_exposes_the_class_names():
    assert FashionMNISTDataModule.classes == CLASSES
    assert CLASSES[0] == "T-shirt/top" and CLASSES[9] == "Ankle boot" and len(CLASSES) == 10


def test_items_are_torchvisions_fashion_mnist_with_to_tensor_bit_for_bit(datamodule):
    tutorials = FashionMNIST(datamodule.data_dir, train=False, transform=ToTensor())
    ours = datamodule.test_set
    assert len(ours) == len(tutorials)
    for (image, label), (expected_image, expected_label) in zip(ours, tutorials, strict=True):
        assert image.dtype == expected_image.dtype and torch.equal(image, expected_image)
        assert type(label) is int and label == expected_label


def test_evaluation_batches_hold_eval_batch_size_images(datamodule):
    dm = reading(datamodule, val_size=TINY_VAL, batch_size=32, eval_batch_size=100)
    dm.setup("fit")
    assert [len(labels) for _, labels in dm.val_dataloader()] == [100, TINY_VAL - 100]
    assert len(next(iter(dm.train_dataloader()))[1]) == 32


# The facts below are copied from torchvision (importing it costs a second of start-up).


def test_class_names_are_torchvisions():
    assert list(CLASSES) == FashionMNIST.classes


def test_upstream_mirror_is_torchvisions():
    assert list(UPSTREAM_MIRRORS) == FashionMNIST.mirrors


def test_upstream_md5s_are_torchvisions():
    assert {f.archive: f.gz_md5 for f in FILES} == dict(FashionMNIST.resources)


def test_mnist_md5s_are_torchvisions():
    assert MNIST_GZ_MD5 == dict(MNIST.resources)
