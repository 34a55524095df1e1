"""fashion_lit: the PyTorch Quickstart's FashionMNIST classifier as a Lightning project.

The names below are imported when first used (PEP 562), so that ``import fashion_lit``
and ``python -m fashion_lit --help`` cost no torch or Lightning import.
"""

from importlib import import_module

#: Each public name, and the module that defines it.
_HOMES = {
    "CLASSES": "fashion_lit.data",
    "FashionMNISTDataModule": "fashion_lit.data",
    "ImageClassifier": "fashion_lit.module",
    "NeuralNetwork": "fashion_lit.network",
}

__all__ = list(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'fashion_lit' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
