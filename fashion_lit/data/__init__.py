"""FashionMNIST: the facts about the files, their acquisition, and the DataModule."""

from fashion_lit.data.acquire import DataNotFoundError, acquire
from fashion_lit.data.datamodule import FashionMNISTDataModule
from fashion_lit.data.facts import CLASSES, FILES

__all__ = ["CLASSES", "FILES", "DataNotFoundError", "FashionMNISTDataModule", "acquire"]
