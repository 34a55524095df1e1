"""FashionMNIST: the facts about the files, their acquisition and verification, the DataModule."""

from fashion_lit.data.acquire import DataNotFoundError, DataVerificationError, acquire
from fashion_lit.data.datamodule import FashionMNISTDataModule
from fashion_lit.data.facts import CLASSES, FILES
from fashion_lit.data.verify import CorruptFileError

__all__ = [
    "CLASSES",
    "FILES",
    "CorruptFileError",
    "DataNotFoundError",
    "DataVerificationError",
    "FashionMNISTDataModule",
    "acquire",
]
