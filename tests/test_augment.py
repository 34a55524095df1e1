"""Training-time augmentation: whole batches mirrored and shifted on their device, seeded."""

import torch

from fashion_lit.data.augment import flip_and_shift, step_generator

CPU = torch.device("cpu")


def batch(count: int = 64) -> torch.Tensor:
    return torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_each_image_is_either_kept_or_mirrored_and_both_happen():
    images = batch()
    out = flip_and_shift(images, flip=True, max_shift=0, generator=step_generator(0, 0, CPU))
    kept = (out == images).flatten(1).all(1)
    mirrored = (out == images.flip(-1)).flatten(1).all(1)
    assert bool((kept | mirrored).all()) and kept.any() and mirrored.any()


def test_shift_moves_each_image_by_at_most_max_shift_pixels_filling_with_zero():
    images = torch.zeros(64, 1, 28, 28)
    images[:, :, 14, 14] = 1.0
    out = flip_and_shift(images, flip=False, max_shift=2, generator=step_generator(0, 0, CPU))
    rows, cols = out[:, 0].nonzero(as_tuple=True)[1:]
    assert out.shape == images.shape and out.sum() == 64  # one bright pixel each, moved
    assert rows.sub(14).abs().max() <= 2 and cols.sub(14).abs().max() <= 2
    assert len({(r, c) for r, c in zip(rows.tolist(), cols.tolist())}) > 1


def test_same_seed_and_step_give_the_same_batch_and_another_step_another():
    images = batch()
    draw = lambda step: flip_and_shift(images, True, 2, step_generator(7, step, CPU))  # noqa: E731
    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))
