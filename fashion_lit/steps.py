"""How a training step is run: ``--model.step automatic|lean|cuda_graph|auto``.

``automatic`` is Lightning's automatic optimisation: a closure around the step, the
optimizer-step wrapper, backward and zero-grad hooks; everything Lightning offers
(gradient clipping, accumulation) works. ``lean`` is manual optimisation with the same
arithmetic and less Python per step: backward, the optimizer step, ``zero_grad`` and the
schedule's step called directly, and the epoch's loss and accuracy kept as running sums
in tensors, read once at the epoch's end. ``cuda_graph`` is ``lean`` with the step
replayed as one CUDA graph (:mod:`fashion_lit.cuda_graph`). ``auto``, the default, is
``lean``, or ``automatic`` when the run sets an option ``lean`` cannot honour, which it
says in one line.
"""

from typing import Literal

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor

AUTOMATIC, LEAN, CUDA_GRAPH, AUTO = "automatic", "lean", "cuda_graph", "auto"
Step = Literal["auto", "automatic", "lean", "cuda_graph"]


class StepUnsupportedError(ValueError):
    """The run asks for a step mode with an option that mode cannot honour."""


def lean_obstacles(trainer: Trainer) -> list[str]:
    """What in ``trainer`` the lean step cannot do (empty: it can run this fit)."""
    obstacles = []
    if trainer.gradient_clip_val:
        obstacles.append(f"trainer.gradient_clip_val={trainer.gradient_clip_val} (clipping)")
    if trainer.accumulate_grad_batches != 1:
        obstacles.append(
            f"trainer.accumulate_grad_batches={trainer.accumulate_grad_batches} (accumulation)"
        )
    return obstacles


def resolve_step(requested: str, cuda_graph: bool, trainer: Trainer) -> str:
    """The step mode a fit runs with: ``automatic``, ``lean`` or ``cuda_graph``.

    ``--model.cuda_graph true`` (and checkpoints saved with it) means ``cuda_graph``.
    Refuses a mode that cannot honour the trainer's options; ``auto`` falls back to
    ``automatic`` then, saying so in one line.
    """
    if cuda_graph:
        if requested not in (AUTO, CUDA_GRAPH):
            raise StepUnsupportedError(
                f"--model.cuda_graph true asks for the CUDA-graph step, and --model.step is "
                f"{requested}: drop one of the two (--model.step cuda_graph alone will do)."
            )
        requested = CUDA_GRAPH
    if requested == AUTOMATIC:
        return AUTOMATIC
    obstacles = lean_obstacles(trainer)
    if not obstacles:
        return LEAN if requested == AUTO else requested
    if requested == AUTO:
        rank_zero_info(
            f"--model.step auto: training with Lightning's automatic optimisation, as the "
            f"lean step cannot honour {' and '.join(obstacles)}."
        )
        return AUTOMATIC
    raise StepUnsupportedError(
        f"--model.step {requested} is refused: it cannot honour {' and '.join(obstacles)}. "
        "Use --model.step automatic (or auto), or drop those options."
    )


class EpochSums:
    """The training epoch's summed loss and correct predictions, as tensors on the device:
    updated without a host synchronisation, read once at the epoch's end."""

    def __init__(self) -> None:
        self.loss_sum: Tensor | None = None  # of the per-image losses
        self.correct: Tensor | None = None  # predictions
        self.images = 0

    def update(self, loss: Tensor, predicted: Tensor, targets: Tensor) -> None:
        count, right = len(targets), (predicted == targets).sum()
        if self.loss_sum is None or self.correct is None:
            self.loss_sum, self.correct = loss.detach() * count, right
        else:
            self.loss_sum.add_(loss.detach(), alpha=count)
            self.correct.add_(right)
        self.images += count

    def read(self, trainer: Trainer) -> tuple[Tensor, Tensor] | None:
        """The epoch's mean loss per image and accuracy over every process (None before
        any batch), then starts afresh."""
        if self.loss_sum is None or self.correct is None:
            return None
        images = torch.tensor(float(self.images), device=self.loss_sum.device)
        totals = torch.stack([self.loss_sum, self.correct.to(self.loss_sum.dtype), images])
        totals = trainer.strategy.reduce(totals, reduce_op="sum")
        self.loss_sum, self.correct, self.images = None, None, 0
        return totals[0] / totals[2], totals[1] / totals[2]


#: Where Lightning's fit loop keeps the optimizer-step count of each kind of step in a
#: checkpoint ("loops" → "fit_loop"): automatic optimisation's, then manual's.
STEP_COUNTS = (
    ("epoch_loop.automatic_optimization.optim_progress", "optimizer", "step"),
    ("epoch_loop.manual_optimization.optim_step_progress",),
)


def carry_step_count(checkpoint: dict) -> None:
    """Give both kinds of step a checkpoint's optimizer-step count, whichever kind saved
    it, so that ``global_step`` goes on where it was when a run resumes with the other
    (a run saved before ``lean`` existed, or resumed with clipping added)."""
    loop = checkpoint.get("loops", {}).get("fit_loop")
    if not isinstance(loop, dict):
        return
    counts = []
    for path in STEP_COUNTS:
        node = loop
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        counts.append(node if isinstance(node, dict) and "total" in node else None)
    if None in counts:
        return
    source = max(counts, key=lambda count: count["total"].get("completed", 0))
    for count in counts:
        if count is not source:
            count["total"] = dict(source["total"])
            count["current"] = dict(source["current"])
