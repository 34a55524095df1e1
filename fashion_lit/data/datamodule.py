"""The FashionMNIST LightningDataModule.

``prepare_data`` acquires the files (once per node, before any process reads them);
``setup`` only reads them and builds the train/validation split with its own seeded
generator, so the split is the same on every run and every rank, whatever the global seed.
"""

import os
from collections.abc import Sequence

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset, Subset, random_split
from torchvision.datasets import FashionMNIST
from torchvision.transforms import ToTensor

from fashion_lit.data.acquire import acquire, missing_files, raw_folder
from fashion_lit.data.facts import CLASSES
from fashion_lit.images import ImageFiles


class FashionMNISTDataModule(LightningDataModule):
    """FashionMNIST as the tutorial loads it: ``ToTensor`` images in [0, 1], int labels.

    Args:
        data_dir: the data root; files go to ``<data_dir>/FashionMNIST/raw``.
        batch_size: images per batch, for every stage.
        val_size: training images held out for validation. ``0`` validates on the test
            set every epoch, as the tutorial's loop does.
        split_seed: seeds the train/validation split, and only that.
        shuffle: reshuffle the training images every epoch (the tutorial does not).
        num_workers: DataLoader worker processes.
        mirror_dirs: local folders holding the ``.gz`` files; by default
            ``$FASHION_LIT_MIRROR``, else Debian's ``/usr/share/datasets/fashion-mnist``.
        download: let torchvision download missing files from the internet.
        predict_indices: the test images to predict (all of them by default).
        predict_paths: image files and folders of PNG/JPEG files to predict instead of
            test images; they are converted as in :mod:`fashion_lit.images`, and
            predicting them needs no FashionMNIST files.
    """

    classes: tuple[str, ...] = CLASSES

    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 64,
        val_size: int = 5000,
        split_seed: int = 42,
        shuffle: bool = True,
        num_workers: int = 0,
        mirror_dirs: Sequence[str] | None = None,
        download: bool = True,
        predict_indices: list[int] | None = None,
        predict_paths: list[str] | None = None,
    ) -> None:
        super().__init__()
        if val_size < 0:
            raise ValueError(f"data.val_size must be 0 or more, got {val_size}.")
        if predict_indices is not None and predict_paths is not None:
            raise ValueError("Give data.predict_indices or data.predict_paths, not both.")
        self.save_hyperparameters()
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.val_size = val_size
        self.split_seed = split_seed
        self.shuffle = shuffle
        self.num_workers = num_workers
        self.mirror_dirs = mirror_dirs
        self.download = download
        self.predict_indices = predict_indices
        self.predict_paths = predict_paths
        self.image_files: ImageFiles | None = None
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _predicts_image_files(self, stage: str | None) -> bool:
        return self.predict_paths is not None and stage == "predict"

    def prepare_data(self) -> None:
        if self.trainer is not None and self._predicts_image_files(self.trainer.state.fn):
            return
        acquire(self.data_dir, self.mirror_dirs, self.download)

    def setup(self, stage: str | None = None) -> None:
        if self._predicts_image_files(stage):
            if self.image_files is None:
                self.image_files = ImageFiles(self.predict_paths)
            return
        if self.test_set is not None:  # already built: keep the same split
            return
        missing = missing_files(self.data_dir)
        if missing:
            raise FileNotFoundError(
                f"FashionMNIST files are missing from {raw_folder(self.data_dir)}: "
                f"{', '.join(f.name for f in missing)}. Run `make data` (or the "
                "datamodule's prepare_data) to acquire them; setup never downloads."
            )
        full_train = FashionMNIST(self.data_dir, train=True, transform=ToTensor())
        self.test_set = FashionMNIST(self.data_dir, train=False, transform=ToTensor())
        if self.val_size >= len(full_train):
            raise ValueError(
                f"data.val_size={self.val_size} leaves no training images "
                f"(the training set has {len(full_train)})."
            )
        if self.val_size == 0:
            self.train_set, self.val_set = full_train, self.test_set
        else:
            self.train_set, self.val_set = random_split(
                full_train,
                [len(full_train) - self.val_size, self.val_size],
                generator=torch.Generator().manual_seed(self.split_seed),
            )

    def _loader(self, dataset: Dataset | None, shuffle: bool = False) -> DataLoader:
        if dataset is None:
            raise RuntimeError("Call setup() before asking for a dataloader.")
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=self.shuffle)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set)

    def predict_dataloader(self) -> DataLoader:
        if self.predict_paths is not None:
            return self._loader(self.image_files)
        if self.test_set is None:
            raise RuntimeError("Call setup() before asking for a dataloader.")
        indices = self.predict_indices
        if indices is None:
            indices = list(range(len(self.test_set)))
        out_of_range = [i for i in indices if not 0 <= i < len(self.test_set)]
        if out_of_range:
            raise IndexError(
                f"data.predict_indices {out_of_range} are out of range: the test set has "
                f"{len(self.test_set)} images, indexed 0 to {len(self.test_set) - 1}."
            )
        return self._loader(WithIndex(Subset(self.test_set, indices), indices))


class WithIndex(Dataset):
    """A labelled dataset whose items also carry their index in the original set."""

    def __init__(self, dataset: Dataset, indices: list[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple:
        image, target = self.dataset[i]
        return image, target, self.indices[i]
