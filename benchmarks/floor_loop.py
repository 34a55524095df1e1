"""The floor: a plain PyTorch training loop over fashion_lit's own resident tensors.

No framework at all: the training split as the DataModule keeps it (one uint8 tensor on
the device), batches cut by indexing a fresh permutation each epoch, the tutorial's MLP,
SGD with lr 1e-3, ``backward``/``step``/``zero_grad``. What fashion_lit's training epoch
costs beyond this is what Lightning and fashion_lit add per step. Run it with::

    python benchmarks/floor_loop.py --data-dir data --epochs 2 --device cpu
"""

import argparse
import json
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from fashion_lit.data import FashionMNISTDataModule
from fashion_lit.network import NeuralNetwork


def resident_training_split(datamodule: FashionMNISTDataModule) -> tuple[Tensor, Tensor, int]:
    """The uint8 training images, their labels and the batch size, as ``fit`` trains on
    them (before they are moved to the device)."""
    datamodule.setup("fit")
    batches = datamodule.train_dataloader()
    return batches.images, batches.targets, datamodule.batch_size


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(
    datamodule: FashionMNISTDataModule,
    epochs: int,
    seed: int,
    device: str,
    network: Callable[[], nn.Module] = NeuralNetwork,
) -> dict:
    """Train ``epochs`` epochs of ``network`` (the tutorial's MLP); the seconds of each."""
    device = torch.device(device)
    images, targets, batch_size = resident_training_split(datamodule)
    images, targets = images.to(device), targets.to(device)
    torch.manual_seed(seed)
    model = network().to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    model.train()
    epoch_seconds = []
    for _ in range(epochs):
        synchronize(device)
        start = time.perf_counter()
        for chunk in torch.randperm(len(targets), device=device).split(batch_size):
            x = images[chunk].unsqueeze(1).float().div(255)
            loss = loss_fn(model(x), targets[chunk])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        synchronize(device)
        epoch_seconds.append(time.perf_counter() - start)
    return {"epoch_seconds": epoch_seconds, "device": str(device), "images": len(targets)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    datamodule = FashionMNISTDataModule(data_dir=args.data_dir, download=False)
    print(json.dumps(run(datamodule, args.epochs, args.seed, args.device)))


if __name__ == "__main__":
    main()
