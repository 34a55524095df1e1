"""FashionMNIST: the facts about the files, their acquisition and verification, the DataModule.

The DataModule is imported when first used (PEP 562): it needs Lightning, and ``serve``,
which reads the test images without it, should not pay for that import.
"""

from importlib import import_module

from fashion_lit.data.acquire import DataNotFoundError, DataVerificationError, acquire
from fashion_lit.data.facts import CLASSES, FILES
from fashion_lit.data.verify import CorruptFileError

#: Names imported when first used, and their modules.
_LAZY = {"FashionMNISTDataModule": "fashion_lit.data.datamodule"}

__all__ = [
    "CLASSES",
    "FILES",
    "CorruptFileError",
    "DataNotFoundError",
    "DataVerificationError",
    "acquire",
    *_LAZY,
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'fashion_lit.data' has no attribute {name!r}")
    return getattr(import_module(_LAZY[name]), name)
