"""Training-time augmentation of a whole batch at once, on the device that holds it.

torchvision's transforms augment one image at a time in the loader, which the resident
data path has none of. These are tensor operations on the batch: a mirror image (a shoe
or a shirt seen from the other side is still one) and a shift by a few pixels, both
drawn from a generator seeded per training step, so a run — a resumed one included —
sees the same augmented batches whatever the device or the process.
"""

import torch
from torch import Tensor


def step_generator(seed: int, step: int, device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded by the run's seed and the training step."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + step)


def flip_and_shift(images: Tensor, flip: bool, max_shift: int, generator: torch.Generator) -> Tensor:
    """``images`` (N, C, H, W), each mirrored left-right with probability 1/2 if ``flip``,
    and moved by up to ``max_shift`` pixels in each direction, the border filled with 0."""
    n, _, height, width = images.shape
    device = images.device
    if flip:
        mirrored = torch.rand(n, device=device, generator=generator) < 0.5
        images = torch.where(mirrored[:, None, None, None], images.flip(-1), images)
    if max_shift > 0:
        shifts = torch.randint(0, 2 * max_shift + 1, (2, n), device=device, generator=generator)
        padded = torch.nn.functional.pad(images, [max_shift] * 4)
        rows = torch.arange(height, device=device) + shifts[0][:, None]  # (N, H)
        cols = torch.arange(width, device=device) + shifts[1][:, None]  # (N, W)
        batch = torch.arange(n, device=device)[:, None, None, None]
        channel = torch.arange(images.shape[1], device=device)[None, :, None, None]
        images = padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
    return images
