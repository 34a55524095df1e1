"""The data set in memory: the IDX files read into uint8 tensors, and a ``Dataset`` over them.

torchvision's ``FashionMNIST`` reads them the same way, but importing it loads all of
torchvision for one ``fromfile``. The files are checked before (``check_acquired``), so
reading is a plain copy of the bytes after the header.
"""

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from fashion_lit.data.facts import FILES, IdxFile


def read_idx(path: str | os.PathLike, file: IdxFile) -> Tensor:
    """The array of an IDX file of unsigned bytes, as a uint8 tensor of ``file.shape``."""
    values = np.fromfile(path, dtype=np.uint8, offset=file.header_size)
    return torch.from_numpy(values).view(file.shape)


class LabelledImages(Dataset):
    """Images and labels, item for item what ``torchvision.datasets.FashionMNIST`` with the
    tutorial's ``ToTensor`` gives, bit for bit: ``(1×28×28 float32 in [0, 1], int label)``.
    ``data`` (N×28×28 uint8) and ``targets`` (N int64) are named as torchvision's."""

    def __init__(self, data: Tensor, targets: Tensor) -> None:
        if data.dtype != torch.uint8:
            raise TypeError(f"images must be uint8 (0-255), got {data.dtype}")
        self.data, self.targets = data, targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.data[index].unsqueeze(0).float().div(255), int(self.targets[index])


def read_split(raw: Path, prefix: str, files: Sequence[IdxFile] = FILES) -> LabelledImages:
    """The ``train`` or ``t10k`` split of the files in ``raw``, as described by ``files``."""
    described = {file.name: file for file in files}
    images = described[f"{prefix}-images-idx3-ubyte"]
    labels = described[f"{prefix}-labels-idx1-ubyte"]
    return LabelledImages(
        read_idx(raw / images.name, images), read_idx(raw / labels.name, labels).long()
    )
