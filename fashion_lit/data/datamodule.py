"""The FashionMNIST LightningDataModule.

``prepare_data`` acquires and fully verifies the files, once per node; ``setup`` checks
them cheaply and splits train/validation with its own seeded generator, the same on every
run and rank. Batches come from device-resident tensors, or the tutorial's DataLoader
with ``resident: false``; either way in an order of the run's seed and the epoch alone,
so a resumed run sees the batches an uninterrupted run would.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset, Subset, random_split

from fashion_lit.batches import predict_item
from fashion_lit.data.acquire import acquire, check_acquired, raw_folder
from fashion_lit.data.checksums import load_checksums
from fashion_lit.data.dataset import read_split
from fashion_lit.data.facts import CLASSES
from fashion_lit.data.resident import ResidentBatches
from fashion_lit.data.resumable import ResumableDataLoader
from fashion_lit.data.sampling import EpochSampler

if TYPE_CHECKING:
    from fashion_lit.images import ImageFiles


class PredictIndexError(IndexError):
    """``data.predict_indices`` names images that the test set does not have."""


def index_list(indices: list[int] | int | str | None) -> list[int] | None:
    """``data.predict_indices`` as a list: one index (``0``), a comma-separated string
    (``0,3``, as typed on a command line) or a list (``[0,3]``)."""
    if indices is None or isinstance(indices, list):
        return indices
    if isinstance(indices, int):
        return [indices]
    try:
        return [int(part) for part in indices.strip("[] ").split(",")]
    except ValueError:
        raise PredictIndexError(
            f"data.predict_indices {indices!r} is not a list of test image indices: give "
            "one index (0), several separated by commas (0,3) or a list ([0,3])."
        ) from None


class FashionMNISTDataModule(LightningDataModule):
    """FashionMNIST as the tutorial loads it: ``ToTensor`` images in [0, 1], int labels.

    Args:
        data_dir: the data root; files go to ``<data_dir>/FashionMNIST/raw``.
        batch_size: images per training batch (the tutorial's 64).
        eval_batch_size: images per validation, test and predict batch. Evaluation
            changes no weight, so the accuracy is the same whatever its size, and the mean
            loss differs only in its last float32 digit (summed in another order); large
            batches spare the per-batch overhead: 5,000 validation images are 5 steps.
        val_size: training images held out for validation. ``0`` validates on the test
            set every epoch, as the tutorial's loop does.
        split_seed: seeds the train/validation split, and only that.
        shuffle: reshuffle the training images every epoch (the tutorial does not), in an
            order seeded by the run's seed and the epoch.
        num_workers: DataLoader worker processes (``resident: false`` only).
        resident: keep the images as one uint8 tensor on the training device and cut
            batches by indexing it (fast), instead of the tutorial's DataLoader, which
            converts every image in Python on every epoch (slow, kept for comparison).
        augment: train on mirrored and shifted variants of the images, seeded by the run
            (:mod:`fashion_lit.data.augment`; resident data only). Off for the MLP, which
            the tutorial trains on the images as they are; on for ``configs/cnn.yaml``.
        sources: where to acquire missing files, in order: folders, ``file://`` or
            ``http(s)://`` mirrors. By default ``$FASHION_LIT_SOURCES`` (comma-separated),
            else Debian's ``/usr/share/datasets/fashion-mnist`` then torchvision's mirror.
        checksums: a JSON manifest of the expected files, for a data set of one's own in
            FashionMNIST's format (see ``fashion_lit.data.checksums``); by default the real
            FashionMNIST's.
        download: let http(s) sources be used; ``false`` never touches the network.
        predict_indices: the test images to predict (all of them by default): ``0``,
            ``0,3`` or ``[0, 3]``.
        predict_paths: image files and folders of PNG/JPEG files to predict instead of
            test images; they are converted as in :mod:`fashion_lit.images`, and
            predicting them needs no FashionMNIST files.
    """

    classes: tuple[str, ...] = CLASSES

    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 64,
        eval_batch_size: int = 1000,
        val_size: int = 5000,
        split_seed: int = 42,
        shuffle: bool = True,
        num_workers: int = 0,
        resident: bool = True,
        augment: bool = False,
        sources: Sequence[str] | None = None,
        checksums: str | None = None,
        download: bool = True,
        predict_indices: list[int] | int | str | None = None,
        predict_paths: list[str] | None = None,
    ) -> None:
        super().__init__()
        if val_size < 0:
            raise ValueError(f"data.val_size must be 0 or more, got {val_size}.")
        if predict_indices is not None and predict_paths is not None:
            raise ValueError("Give data.predict_indices or data.predict_paths, not both.")
        if augment and not resident:
            raise ValueError("data.augment works on resident data: set data.resident: true.")
        # What shapes the training, for hparams.yaml and the HParams tab; where the files
        # are and how they are read are in the run's config.yaml.
        self.save_hyperparameters("batch_size", "val_size", "split_seed", "shuffle")
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.val_size = val_size
        self.split_seed = split_seed
        self.shuffle = shuffle
        self.num_workers = num_workers
        self.resident = resident
        self.augment = augment
        self.sources = sources
        self.checksums = checksums
        self.download = download
        self.predict_indices = index_list(predict_indices)
        self.predict_paths = predict_paths
        self.image_files: ImageFiles | None = None
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self._device_tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._shuffle_seed = 0

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _predicts_image_files(self, stage: str | None) -> bool:
        return self.predict_paths is not None and stage == "predict"

    def prepare_data(self) -> None:
        if self.trainer is not None and self._predicts_image_files(self.trainer.state.fn):
            return
        acquire(self.data_dir, self.sources, self.download, self.checksums)

    def setup(self, stage: str | None = None) -> None:
        if self._predicts_image_files(stage):
            if self.image_files is None:
                # Imported here: it needs Pillow and torchvision, which nothing else does.
                from fashion_lit.images import ImageFiles

                self.image_files = ImageFiles(self.predict_paths)
            return
        if self.test_set is not None:  # already built: keep the same split
            return
        # The seed_everything seed (or torch's own), so that shuffling follows the config.
        self._shuffle_seed = torch.initial_seed()
        check_acquired(self.data_dir, self.checksums)
        raw, files = raw_folder(self.data_dir), load_checksums(self.checksums)
        full_train = read_split(raw, "train", files)
        self.test_set = read_split(raw, "t10k", files)
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

    def _loader(self, dataset: Dataset | None, shuffle: bool = False, train: bool = False):
        if dataset is None:
            raise RuntimeError("Call setup() before asking for a dataloader.")
        batch_size = self.batch_size if train else self.eval_batch_size
        if self.resident:
            device = self._device()
            images, targets = self._on_device(dataset, device)
            sampler = self._sampler(len(targets), shuffle, train, device)
            return ResidentBatches(images, targets, batch_size, sampler, train and self.augment)
        if train:
            sampler = self._sampler(len(dataset), shuffle, train)
            return ResumableDataLoader(
                dataset, sampler=sampler, **self._dataloader_options(batch_size)
            )
        return DataLoader(dataset, **self._dataloader_options(batch_size))

    def _dataloader_options(self, batch_size: int) -> dict:
        return {
            "batch_size": batch_size,
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
        }

    def _device(self) -> torch.device:
        trainer = self.trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def _sampler(
        self, size: int, shuffle: bool, train: bool, device: torch.device | str = "cpu"
    ) -> EpochSampler:
        trainer = self.trainer
        # On a resumed run the trainer has restored its epoch before asking for loaders.
        epoch = trainer.current_epoch if trainer is not None else 0
        # Lightning shards a DataLoader across processes itself, but not resident batches.
        shard = trainer is not None and self.resident
        rank, world_size = (trainer.global_rank, trainer.world_size) if shard else (0, 1)
        # Training pads so that every rank takes the same number of steps; evaluation
        # does not, so that every image counts exactly once in the metrics.
        return EpochSampler(
            size, shuffle, self._shuffle_seed, epoch, rank, world_size, pad=train, device=device
        )

    def _on_device(
        self, dataset: Dataset, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The uint8 images and labels of ``dataset``, copied to ``device`` once."""
        key = f"{id(dataset)}@{device}"
        if key not in self._device_tensors:
            if isinstance(dataset, Subset):  # the training or validation split
                images = dataset.dataset.data[dataset.indices]
                targets = dataset.dataset.targets[dataset.indices]
            else:
                images, targets = dataset.data, dataset.targets
            self._device_tensors[key] = (images.to(device), targets.to(device))
        return self._device_tensors[key]

    def train_dataloader(self):
        return self._loader(self.train_set, shuffle=self.shuffle, train=True)

    def val_dataloader(self):
        return self._loader(self.val_set)

    def test_dataloader(self):
        return self._loader(self.test_set)

    def predict_dataloader(self) -> DataLoader:
        if self.predict_paths is not None:
            return DataLoader(self.image_files, **self._dataloader_options(self.eval_batch_size))
        if self.test_set is None:
            raise RuntimeError("Call setup() before asking for a dataloader.")
        indices = self.predict_indices
        if indices is None:
            indices = list(range(len(self.test_set)))
        out_of_range = [i for i in indices if not 0 <= i < len(self.test_set)]
        if out_of_range:
            raise PredictIndexError(
                f"data.predict_indices {out_of_range} are out of range: the test set has "
                f"{len(self.test_set)} images, indexed 0 to {len(self.test_set) - 1}."
            )
        # Predictions are few and need their indices: the plain DataLoader path serves.
        return DataLoader(
            WithIndex(Subset(self.test_set, indices), indices),
            **self._dataloader_options(self.eval_batch_size),
        )


class WithIndex(Dataset):
    """Test images to predict, each a predict item (:mod:`fashion_lit.batches`) with its
    label and its index in the test set."""

    def __init__(self, dataset: Dataset, indices: list[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        image, target = self.dataset[i]
        return predict_item(image, target=target, index=self.indices[i])
