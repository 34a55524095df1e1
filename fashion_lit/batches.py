"""The shapes of a batch and of a prediction, defined once.

Every producer and consumer uses the names below, so no source invents a shape:

- a **labelled batch** (training, validation, test) is ``(images, targets)``: images
  N×1×28×28 float32 in [0, 1], targets N int64, as the tutorial's ``DataLoader`` yields
  them (and :class:`~fashion_lit.data.resident.ResidentBatches` too);
- a **predict batch** is a dict: :data:`IMAGE` and what identifies each image, its
  :data:`TARGET` and :data:`INDEX` in the test set, or the :data:`PATH` of its file;
- a **prediction** (``predict_step``'s output, and ``serve``'s before it answers) is the
  predict batch's identifiers with :data:`CLASS_INDEX` and :data:`PROBABILITIES`;
- a **prediction row** (:func:`prediction_rows`) is one image's prediction as ``predict``
  writes it and ``serve`` answers it: its identifier, the predicted class and the top 3;
- an **evaluation step's output** (``validation_step``, ``test_step``) is
  ``{PREDICTED: the predicted classes}``, for callbacks such as the evaluation pictures.
"""

from collections.abc import Mapping, Sequence
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
#: How many of the most probable classes a prediction row lists.
TOP_K = 3


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


def prediction_rows(
    outputs: dict[str, Any], positions: Sequence[int], classes: Sequence[str]
) -> list[tuple[int, dict[str, Any]]]:
    """``(position in the input, row)`` for each image of one prediction: the rows that
    ``predict`` writes (:mod:`fashion_lit.callbacks.prediction_writer`) and ``serve``
    answers, so that the two cannot differ."""
    probabilities = outputs[PROBABILITIES].float().cpu()
    top = probabilities.topk(min(TOP_K, probabilities.shape[1]), dim=1)
    rows = []
    for i, predicted in enumerate(outputs[CLASS_INDEX].tolist()):
        row: dict[str, Any] = {}
        if PATH in outputs:
            row[PATH] = outputs[PATH][i]
        else:
            row[INDEX] = int(outputs[INDEX][i]) if INDEX in outputs else positions[i]
        row.update(
            predicted=predicted,
            predicted_name=classes[predicted],
            probability=round(float(probabilities[i, predicted]), 6),
        )
        if TARGET in outputs:
            actual = int(outputs[TARGET][i])
            row.update(actual=actual, actual_name=classes[actual])
        top_classes = top.indices[i].tolist()
        row.update(
            top3=top_classes,
            top3_names=[classes[c] for c in top_classes],
            top3_probabilities=[round(p, 6) for p in top.values[i].tolist()],
        )
        rows.append((positions[i], row))
    return rows
