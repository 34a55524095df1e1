"""Random training batches of FashionMNIST's shape, the same for the same seed."""

import torch


def batches(count: int, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.rand(16, 1, 28, 28, generator=generator),
            torch.randint(0, 10, (16,), generator=generator),
        )
        for _ in range(count)
    ]
