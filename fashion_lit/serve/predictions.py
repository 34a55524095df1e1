"""The answer to ``POST /predict``: one prediction per image, as ``predict`` writes them.

Each is a row of ``predict``'s JSON output, built by the same
:func:`~fashion_lit.batches.prediction_rows`; with ``?with_image=true``
also ``image``, the picture as the model saw it (28 rows of 28 gray levels in [0, 1]).
"""

from typing import Any

import numpy as np
from torch import Tensor

from fashion_lit.batches import PATH, prediction, prediction_rows
from fashion_lit.data.facts import CLASSES
from fashion_lit.serve.inputs import Images


def answer(
    images: Images, probabilities: Tensor, with_image: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """``{"predictions": [...]}`` for the images of one request and their probabilities."""
    outputs = prediction(probabilities, {} if images.names is None else {PATH: images.names})
    rows = [row for _, row in prediction_rows(outputs, range(len(probabilities)), CLASSES)]
    if with_image:
        for row, image in zip(rows, images.pixels, strict=True):
            row["image"] = as_rows(image)
    return {"predictions": rows}


def as_rows(image: np.ndarray) -> list[list[float]]:
    """A 1×28×28 image as 28 rows of gray levels, rounded for a compact answer."""
    return np.round(image[0].astype(float), 4).tolist()
