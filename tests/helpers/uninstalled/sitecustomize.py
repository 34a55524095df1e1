"""Makes the packages named in $FASHION_LIT_UNINSTALLED look uninstalled to this process.

Put on ``PYTHONPATH``, Python runs it at start-up: importing one of those packages then
fails as if it were not installed, and ``importlib.metadata`` does not know it either (as
libraries such as torchmetrics ask it whether a package is there before importing it).
tests/test_startup.py uses it to show which packages a command really needs.
"""

import importlib.metadata
import os
import sys

HIDDEN = [name for name in os.environ.get("FASHION_LIT_UNINSTALLED", "").split(",") if name]


def hidden(name: str) -> bool:
    return any(name == package or name.startswith(package + ".") for package in HIDDEN)


class Uninstalled:
    """A finder consulted before all others, refusing the hidden packages."""

    def find_spec(self, name, path=None, target=None):
        if hidden(name):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def without_hidden(lookup):
    def look_up(name):
        if hidden(name):
            raise importlib.metadata.PackageNotFoundError(name)
        return lookup(name)

    return look_up


sys.meta_path.insert(0, Uninstalled())
importlib.metadata.distribution = without_hidden(importlib.metadata.distribution)
importlib.metadata.version = without_hidden(importlib.metadata.version)
