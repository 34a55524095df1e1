"""FashionMNIST's test images as examples, for the page's "random test image" button.

Read once, before the server processes start, from the raw files under the data folder.
Without them the service still runs; the button is disabled and the page shows
:attr:`Examples.note`.
"""

import secrets
from dataclasses import dataclass

import numpy as np

from fashion_lit.data.acquire import DataNotFoundError, check_acquired, raw_folder
from fashion_lit.data.dataset import read_split
from fashion_lit.data.facts import CLASSES
from fashion_lit.data.verify import CorruptFileError


@dataclass(frozen=True)
class Examples:
    """The test images and their labels, or a note that says why there are none."""

    images: np.ndarray  # N×28×28 uint8 gray levels, as before ``ToTensor``
    labels: np.ndarray
    note: str = ""  # why there are no images and how to get them

    def __len__(self) -> int:
        return len(self.labels)

    def pick(self) -> dict:
        """A test image picked at random: its index, true class and 28×28 gray levels."""
        index = secrets.randbelow(len(self))  # not `random`: forked servers share its state
        actual = int(self.labels[index])
        return {
            "index": index,
            "actual": actual,
            "actual_name": CLASSES[actual],
            "pixels": self.images[index].tolist(),
        }


def read_examples(data_dir: str) -> Examples:
    """The test images under ``data_dir``, or none and a note when they are not there."""
    raw = raw_folder(data_dir)
    try:
        check_acquired(data_dir)
        test_set = read_split(raw, "t10k")
    except (DataNotFoundError, CorruptFileError, OSError) as error:
        problem = "are not" if isinstance(error, DataNotFoundError) else "cannot be read"
        note = (
            f"The FashionMNIST test images {problem} in {raw}: run `make data` (or `python -m "
            f"fashion_lit.data --data_dir {data_dir}`), then restart the server."
        )
        return Examples(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64), note)
    return Examples(test_set.data.numpy(), test_set.targets.numpy())
