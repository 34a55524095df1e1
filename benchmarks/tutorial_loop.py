"""The PyTorch Quickstart's training loop, as the tutorial writes it, for comparison.

The only changes: the data is read from a local folder instead of being downloaded,
the seed is set with ``torch.manual_seed`` right before the model is built, and each
epoch is timed. Run it with::

    python benchmarks/tutorial_loop.py --data-dir data --epochs 5 --seed 0
"""

import argparse
import json
import time

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import ToTensor

from fashion_lit.network import NeuralNetwork


def train(dataloader, model, loss_fn, optimizer, device):
    model.train()
    for X, y in dataloader:
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def test(dataloader, model, loss_fn, device):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    return correct / size, test_loss / num_batches


def run(data_dir: str = "data", epochs: int = 5, seed: int = 0, device: str | None = None) -> dict:
    """Train as the tutorial does; return the final test accuracy and epoch times."""
    device = device or (
        torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    )
    training_data = datasets.FashionMNIST(
        root=data_dir, train=True, download=False, transform=ToTensor()
    )
    test_data = datasets.FashionMNIST(
        root=data_dir, train=False, download=False, transform=ToTensor()
    )
    batch_size = 64
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)

    torch.manual_seed(seed)
    model = NeuralNetwork().to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    epoch_seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        train(train_dataloader, model, loss_fn, optimizer, device)
        epoch_seconds.append(time.perf_counter() - start)
        accuracy, loss = test(test_dataloader, model, loss_fn, device)
    return {
        "test_acc": accuracy,
        "test_loss": loss,
        "epoch_seconds": epoch_seconds,
        "device": device,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    print(json.dumps(run(args.data_dir, args.epochs, args.seed, args.device)))


if __name__ == "__main__":
    main()
