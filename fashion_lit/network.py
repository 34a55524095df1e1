"""The PyTorch Quickstart's network, unchanged.

The attribute names (``flatten``, ``linear_relu_stack``) and the layer order are the
tutorial's own, so a ``model.pth`` saved by the tutorial loads here with
``load_state_dict`` as-is, and a state_dict saved here loads into the tutorial's class.
"""

from torch import Tensor, nn


class NeuralNetwork(nn.Module):
    """Flatten → Linear(784, 512) → ReLU → Linear(512, 512) → ReLU → Linear(512, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Map a batch of 1×28×28 images in [0, 1] to 10 unnormalised class scores."""
        return self.linear_relu_stack(self.flatten(x))
