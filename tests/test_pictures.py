"""The evaluation pictures: what the confusion matrix and the misclassified grid show."""

import numpy as np
import torch

from fashion_lit.data import CLASSES
from fashion_lit.pictures import (
    DARK_BLUE,
    PALE_BLUE,
    ZOOM,
    confusion_matrix_image,
    misclassified_image,
)


def pixels_of_colour(picture, colour) -> np.ndarray:
    """The (row, column) of every pixel of exactly ``colour``."""
    return np.argwhere((np.asarray(picture) == colour).all(axis=2))


def test_the_largest_count_gets_the_darkest_cell_and_zero_the_palest():
    matrix = torch.eye(10, dtype=torch.long) * 40
    matrix[3, 5] = 400
    picture = confusion_matrix_image(matrix, CLASSES, "val confusion matrix")
    darkest = pixels_of_colour(picture, DARK_BLUE)
    assert len(darkest) > 100  # one whole cell, but for its white digits
    (top, left), (bottom, right) = darkest.min(axis=0), darkest.max(axis=0)
    cell_height, cell_width = bottom - top + 1, right - left + 1
    assert cell_width * cell_height < 3 * len(darkest)  # one cell, not scattered pixels
    assert len(pixels_of_colour(picture, PALE_BLUE)) > 80 * len(darkest)  # the 89 zeros


def test_the_darkest_cell_is_at_its_true_row_and_predicted_column():
    def darkest_cell_centre(true: int, predicted: int) -> np.ndarray:
        matrix = torch.zeros(10, 10, dtype=torch.long)
        matrix[true, predicted] = 7
        return pixels_of_colour(confusion_matrix_image(matrix, CLASSES, ""), DARK_BLUE).mean(0)

    row_0, column_0 = darkest_cell_centre(0, 0)
    row_below, column_same = darkest_cell_centre(1, 0)
    row_same, column_right = darkest_cell_centre(0, 1)
    assert row_below > row_0 and column_same == column_0
    assert column_right > column_0 and row_same == row_0


def test_each_misclassified_image_is_shown_enlarged_as_it_is():
    image = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(0))
    picture = np.asarray(misclassified_image([(image, 0, 9)], CLASSES, 8, "val"))[:, :, 0]
    expected = image[0].mul(255).round().to(torch.uint8).numpy()
    expected = expected.repeat(ZOOM, axis=0).repeat(ZOOM, axis=1)
    side = 28 * ZOOM
    windows = np.lib.stride_tricks.sliding_window_view(picture, (side, side))
    assert (windows == expected).all(axis=(2, 3)).any()


def test_the_grid_has_a_row_for_every_columns_images():
    image = torch.zeros(1, 28, 28)

    def height(count: int) -> int:
        return misclassified_image([(image, 1, 2)] * count, CLASSES, 4, "val").height

    assert height(1) == height(4) < height(5) == height(8) < height(9)


def test_a_grid_without_misclassified_images_is_still_a_picture():
    picture = misclassified_image([], CLASSES, 8, "test: no image misclassified")
    assert picture.mode == "RGB" and picture.width > 0 and picture.height > 0
