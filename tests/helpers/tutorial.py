"""The PyTorch Quickstart's own code, copied from the tutorial, to check fashion_lit against.

Tests that compare with these compare with the tutorial, not with fashion_lit's own
network or loops.
"""

import torch
from torch import nn


class TutorialNeuralNetwork(nn.Module):
    """The class exactly as the PyTorch Quickstart defines it."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        return self.linear_relu_stack(x)


def tutorial_accuracy(dataloader, model) -> float:
    """The tutorial's ``test`` loop, returning the accuracy it prints."""
    size = len(dataloader.dataset)
    model.eval()
    correct = 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    return correct / size
