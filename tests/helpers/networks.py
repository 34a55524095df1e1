"""A network of the user's own, defined outside fashion_lit, as ``--model.net`` names it.

Importing this module appends a line to the file named by ``$FASHION_LIT_IMPORT_MARKER``
(when set), so a test can tell whether a command imported it.
"""

import os

from torch import Tensor, nn

if os.environ.get("FASHION_LIT_IMPORT_MARKER"):
    with open(os.environ["FASHION_LIT_IMPORT_MARKER"], "a") as marker:
        marker.write(f"{__name__} imported\n")


class TinyNet(nn.Module):
    """A linear classifier over 7×7 average-pooled pictures: a few hundred parameters."""

    def __init__(self, hidden: int = 16, num_classes: int = 10) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.AvgPool2d(4),
            nn.Flatten(),
            nn.Linear(49, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
