"""The shapes of a batch and of a prediction, defined once.

Every producer and consumer uses the names below, so no source invents a shape:

- a **labelled batch** (training, validation, test) is ``(images, targets)``: images
  N×1×28×28 float32 in [0, 1], targets N int64, as the tutorial's ``DataLoader`` yields
  them (and :class:`~fashion_lit.data.resident.ResidentBatches` too);
- a **predict batch** is a dict: :data:`IMAGE` and what identifies each image, its
  :data:`TARGET` and :data:`INDEX` in the test set, or the :data:`PATH` of its file;
- a **prediction** (``predict_step``'s output, and ``serve``'s before it answers) is the
  predict batch's identifiers with :data:`CLASS_INDEX` and :data:`PROBABILITIES`;
- an **evaluation step's output** (``validation_step``, ``test_step``) is
  ``{PREDICTED: the predicted classes}``, for callbacks such as the evaluation pictures.
"""

from collections.abc import Mapping
from typing import Any

from torch import Tensor

IMAGE = "image"
TARGET = "target"
INDEX = "index"
PATH = "path"
#: What identifies an image of a predict batch, passed on to its prediction.
IDENTIFIERS = (TARGET, INDEX, PATH)
CLASS_INDEX = "class_index"
PROBABILITIES = "probabilities"
PREDICTED = "preds"


def labelled(batch: Any) -> tuple[Tensor, Tensor]:
    """The ``(images, targets)`` of a labelled batch."""
    images, targets = batch
    return images, targets


def predict_item(image: Tensor, **identifiers: Any) -> dict[str, Any]:
    """One item of a predict batch: ``image`` and its identifiers (``target``, ``index``,
    ``path``); the DataLoader stacks the items into a predict batch."""
    unknown = set(identifiers) - set(IDENTIFIERS)
    if unknown:
        raise KeyError(f"a predict item has no {', '.join(sorted(unknown))}")
    return {IMAGE: image, **identifiers}


def prediction(probabilities: Tensor, batch: Mapping[str, Any]) -> dict[str, Any]:
    """The prediction of a predict batch from its class probabilities (N×classes)."""
    identifiers = {key: batch[key] for key in IDENTIFIERS if key in batch}
    return {
        CLASS_INDEX: probabilities.argmax(dim=1),
        PROBABILITIES: probabilities,
        **identifiers,
    }
