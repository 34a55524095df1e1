"""A small convolutional network: the step every learner takes after the tutorial's MLP.

Convolutions see each pixel with its neighbours, where the MLP sees 784 unrelated
inputs, and so learn shapes (a collar, a heel) wherever they are in the picture: on
FashionMNIST a network of this size ends a few points above the MLP at a third of its
parameters (``configs/cnn.yaml``, the README's results). Batch normalisation lets it
train at a high rate from the start; dropout keeps its hidden layer from memorising.
"""

from torch import Tensor, nn


class CNN(nn.Module):
    """Two blocks of 3×3 convolution, batch normalisation, ReLU and 2×2 max pooling
    (28×28 → 14×14 → 7×7), then dropout, a hidden layer and one output per class.

    Args:
        channels: the channels of the first and of the second block.
        hidden: the units of the hidden layer.
        dropout: the probability of dropping an input of each linear layer in training.
        num_classes: the number of outputs.
    """

    def __init__(
        self,
        channels: tuple[int, int] = (24, 48),
        hidden: int = 128,
        dropout: float = 0.25,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        first, second = channels
        self.features = nn.Sequential(*block(1, first), *block(first, second))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(second * 7 * 7, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def block(inputs: int, outputs: int) -> list[nn.Module]:
    """Convolution (its bias left to the batch norm that follows), batch norm, ReLU, pooling."""
    return [
        nn.Conv2d(inputs, outputs, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(),
        nn.MaxPool2d(2),
    ]
