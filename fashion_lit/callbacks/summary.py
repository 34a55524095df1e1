"""The model summary at the start of ``fit``: the network's layers, in a few lines.

Lightning's summary lists the LightningModule's direct children: the network, the loss
and seven torchmetrics objects (no parameters, no shapes), then seven lines of totals.
A learner wants the network's own layers, their shapes and sizes, so this one lists the
children of ``model.net`` (the network, whatever its class) and one line of totals.
It takes the place of Lightning's (``trainer.enable_model_summary: false`` turns it off).
"""

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelSummary
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.model_summary import get_human_readable_count, summarize

#: The attribute of the LightningModule that holds the network.
NETWORK = "net"


class NetworkSummary(ModelSummary):
    """Prints the network's class, its layers (name, type, parameters, shapes) and its
    parameter count and size, once, on the main process."""

    def __init__(self) -> None:
        super().__init__(max_depth=2)

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.is_global_zero:
            rank_zero_info(network_summary(pl_module))


def network_summary(module: LightningModule) -> str:
    """The summary's text: one line for the network, then one per layer of it."""
    summary = summarize(module, max_depth=2)
    prefix = f"{NETWORK}."
    rows = [
        (name.removeprefix(prefix), kind, get_human_readable_count(count), shapes(inp, out))
        for name, kind, count, inp, out in zip(
            summary.layer_names,
            summary.layer_types,
            summary.param_nums,
            summary.in_sizes,
            summary.out_sizes,
            strict=True,
        )
        if name.startswith(prefix)
    ]
    network = type(getattr(module, NETWORK)).__name__
    head = (
        f"Network {network}: {get_human_readable_count(summary.trainable_parameters)} "
        f"trainable parameters ({summary.model_size:.1f} MB)"
    )
    name_width, kind_width, count_width = (
        max((len(row[column]) for row in rows), default=0) for column in range(3)
    )
    lines = [
        f"  {name:<{name_width}}  {kind:<{kind_width}}  {count:>{count_width}}  {shape}".rstrip()
        for name, kind, count, shape in rows
    ]
    return "\n".join([head, *lines])


def shapes(inp: object, out: object) -> str:
    """``[1, 784] → [1, 10]``, or nothing where the example input did not reach a layer."""
    return "" if inp == "?" else f"{inp} → {out}"
