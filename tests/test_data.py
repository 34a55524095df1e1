"""The DataModule: acquisition from a local mirror, a stable split, tutorial-shaped batches."""

import gzip

import pytest
import torch

from fashion_lit.data import CLASSES, DataNotFoundError, FashionMNISTDataModule, acquire
from fashion_lit.data.acquire import MIRROR_ENV, raw_folder
from fashion_lit.data.facts import FILES
from tests.conftest import TINY_TEST, TINY_TRAIN, TINY_VAL


@pytest.fixture
def datamodule(tiny_mirror, tmp_path) -> FashionMNISTDataModule:
    dm = FashionMNISTDataModule(
        data_dir=str(tmp_path / "data"), mirror_dirs=[str(tiny_mirror)], download=False,
        val_size=TINY_VAL, batch_size=32,
    )
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_prepare_data_decompresses_the_mirrors_files(tiny_mirror, tmp_path):
    raw = acquire(tmp_path / "data", [tiny_mirror], download=False)
    assert raw == raw_folder(tmp_path / "data")
    for file in FILES:
        with gzip.open(tiny_mirror / file.archive, "rb") as archive:
            assert (raw / file.name).read_bytes() == archive.read()


def test_mirror_folder_can_come_from_the_environment(tiny_mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(tiny_mirror))
    raw = acquire(tmp_path / "data", download=False)
    assert all((raw / file.name).is_file() for file in FILES)


def test_missing_data_error_names_folders_files_and_fix(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError) as error:
        acquire(tmp_path / "data", [empty], download=False)
    message = str(error.value)
    assert str(raw_folder(tmp_path / "data")) in message
    assert str(empty) in message
    assert all(file.archive in message for file in FILES)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "data.download: false" in message


def test_setup_never_acquires(tiny_mirror, tmp_path):
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "data"), mirror_dirs=[str(tiny_mirror)])
    with pytest.raises(FileNotFoundError, match="setup never downloads"):
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


def test_split_depends_on_split_seed_only(datamodule, tiny_mirror):
    def split(seed_everything: int, split_seed: int) -> list[int]:
        torch.manual_seed(seed_everything)
        dm = FashionMNISTDataModule(data_dir=datamodule.data_dir, val_size=TINY_VAL,
                                    split_seed=split_seed, download=False)
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
    dm = FashionMNISTDataModule(data_dir=datamodule.data_dir, val_size=0, download=False)
    dm.setup("fit")
    assert dm.val_set is dm.test_set
    assert len(dm.train_set) == TINY_TRAIN


def test_validation_size_must_leave_training_images(datamodule):
    dm = FashionMNISTDataModule(data_dir=datamodule.data_dir, val_size=TINY_TRAIN, download=False)
    with pytest.raises(ValueError, match="data.val_size"):
        dm.setup("fit")


def test_predict_batches_carry_labels_and_original_indices(datamodule):
    datamodule.predict_indices = [5, 0]
    images, labels, indices = next(iter(datamodule.predict_dataloader()))
    assert indices.tolist() == [5, 0]
    assert labels.tolist() == [datamodule.test_set[5][1], datamodule.test_set[0][1]]
    assert images.shape == (2, 1, 28, 28)


def test_predict_index_out_of_range_is_named(datamodule):
    datamodule.predict_indices = [0, TINY_TEST]
    with pytest.raises(IndexError, match=rf"\[{TINY_TEST}\] are out of range"):
        datamodule.predict_dataloader()


def test_exposes_the_class_names():
    assert FashionMNISTDataModule.classes == CLASSES
    assert CLASSES[0] == "T-shirt/top" and CLASSES[9] == "Ankle boot" and len(CLASSES) == 10


def test_upstream_md5s_are_torchvisions():
    from torchvision.datasets import FashionMNIST

    assert {f.archive: f.gz_md5 for f in FILES} == dict(FashionMNIST.resources)
