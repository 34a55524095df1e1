"""A small convolutional network: the step every learner takes after the tutorial's MLP.

Convolutions see each pixel with its neighbours, where the MLP sees 784 unrelated
inputs, and so learn shapes (a collar, a heel) wherever they are in the picture: on
FashionMNIST a network of this size ends a few points above the MLP at a third of its
parameters (``configs/cnn.yaml``, the README's results). Batch normalisation lets it
train at a high rate from the start; dropout keeps its hidden layer from memorising.

The network keeps its weights, and turns its input, channels-last (NHWC): the layout in
which oneDNN's convolutions on a CPU run fastest, without reordering the tensors at every
layer — a step at half the time of the default NCHW layout on one CPU thread, more than
twice as fast again with ``trainer.precision: bf16-mixed`` on a CPU with AVX-512 BF16.
The weights' values, and so the checkpoint and ``model.pth``, do not depend on it.
"""

import torch
from torch import Tensor, nn


class CNN(nn.Module):
    """Two blocks of 3×3 convolutions (each with batch normalisation and ReLU) and 2×2 max
    pooling (28×28 → 14×14 → 7×7), then dropout, a hidden layer and one output per class.

    Args:
        channels: the channels of the first and of the second block.
        convs_per_block: the convolutions in each block: a second one widens what each
            unit sees (5×5 pixels, not 3×3) before the pooling, at about twice the cost.
        hidden: the units of the hidden layer.
        dropout: the probability of dropping an input of each linear layer in training.
        num_classes: the number of outputs.
    """

    def __init__(
        self,
        channels: tuple[int, int] = (24, 48),
        convs_per_block: int = 1,
        hidden: int = 128,
        dropout: float = 0.25,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        first, second = channels
        if convs_per_block < 1:
            raise ValueError(f"convs_per_block must be 1 or more, not {convs_per_block}.")
        self.features = nn.Sequential(
            *block(1, first, convs_per_block), *block(first, second, convs_per_block)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(second * 7 * 7, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        self.to(memory_format=torch.channels_last)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x.contiguous(memory_format=torch.channels_last)))


def block(inputs: int, outputs: int, convs: int = 1) -> list[nn.Module]:
    """``convs`` × (3×3 convolution, its bias left to the batch norm that follows, batch
    norm, ReLU), then 2×2 max pooling."""
    layers: list[nn.Module] = []
    for number in range(convs):
        layers += [
            nn.Conv2d(inputs if number == 0 else outputs, outputs, 3, padding=1, bias=False),
            nn.BatchNorm2d(outputs),
            nn.ReLU(),
        ]
    return [*layers, nn.MaxPool2d(2)]
