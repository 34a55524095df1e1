"""Augmentation of resident training batches: every variant is a function of the seed, the
epoch and the batch, and each image is its own garment, mirrored or not and moved a little."""

import torch

from fashion_lit.data.augment import SHIFT, augmented


def garments(count: int = 16) -> torch.Tensor:
    """Distinct images, bright in the middle and black at the border, as FashionMNIST's are."""
    images = torch.zeros(count, 28, 28, dtype=torch.uint8)
    images[:, SHIFT:-SHIFT, SHIFT:-SHIFT] = torch.randint(
        1, 256, (count, 28 - 2 * SHIFT, 28 - 2 * SHIFT), generator=torch.Generator().manual_seed(0)
    ).to(torch.uint8)
    return images


def variants(image: torch.Tensor) -> list[torch.Tensor]:
    """The image and its mirror, each moved by every shift up to SHIFT pixels."""
    padded = [torch.nn.functional.pad(picture, (SHIFT,) * 4) for picture in (image, image.flip(1))]
    span = range(2 * SHIFT + 1)
    return [picture[dy : dy + 28, dx : dx + 28] for picture in padded for dy in span for dx in span]


def test_the_same_seed_epoch_and_batch_give_the_same_pictures_and_another_batch_others():
    images = garments()
    assert torch.equal(augmented(images, 0, 3, 7), augmented(images, 0, 3, 7))
    assert not torch.equal(augmented(images, 0, 3, 7), augmented(images, 0, 3, 8))
    assert not torch.equal(augmented(images, 0, 3, 7), augmented(images, 1, 3, 7))


def test_each_image_is_mirrored_or_not_and_shifted_on_its_own():
    images = garments()
    shifted = augmented(images, seed=0, epoch=0, batch=0)
    which = []
    for original, picture in zip(images, shifted, strict=True):
        matches = [i for i, copy in enumerate(variants(original)) if torch.equal(copy, picture)]
        assert matches, "an augmented image is not a mirrored or shifted copy of its original"
        which.append(matches[0])
    assert len(set(which)) > 4, "the images of a batch should not all move together"
