"""What the commands leave out of the console: third-party messages that tell a
fashion_lit user nothing they can act on, each hidden narrowly, with its reason.

Our own warnings are fixed at their source instead (the graph is off by default, the
checkpoint saves say ``weights_only``). The test suite hides the same messages through
``filterwarnings`` in ``pyproject.toml``.
"""

import logging
import warnings

#: Python warnings hidden: (message regex, category, module regex, why).
HIDDEN_WARNINGS: tuple[tuple[str, type[Warning], str, str], ...] = (
    (
        r".*isinstance\(treespec, LeafSpec\)",
        Warning,
        "",
        "torch deprecated a class that Lightning's own pytree helper still uses",
    ),
    (
        r"This property will be removed in 2\.0\.0\. Use `Metric\.updated_called`",
        DeprecationWarning,
        "",
        "torchmetrics renamed a property that Lightning reads for every logged metric",
    ),
    (
        "",
        DeprecationWarning,
        r"lightning\.pytorch\.cli",
        "jsonargparse deprecated calls that LightningCLI itself makes",
    ),
    (
        r"Checkpoint directory .* exists and is not empty",
        UserWarning,
        "",
        "a resumed fit continues its run's own checkpoints/ folder, by design; a new run "
        "always gets a folder of its own (fashion_lit.runs)",
    ),
    (
        r"Experiment logs directory .* exists and is not empty",
        UserWarning,
        "",
        "fashion_lit's CSV logger keeps earlier metrics files (fashion_lit.loggers): "
        "nothing is deleted, as the warning fears",
    ),
    (
        r"Precision .*-mixed is not supported by the model summary",
        UserWarning,
        "",
        "mixed precision keeps the weights in float32, the size Lightning falls back to: "
        "the summary's size is right",
    ),
)

#: Lightning's console lines hidden: (text they start with, why).
HIDDEN_LINES: tuple[tuple[str, str], ...] = (
    ("💡 Tip: For seamless cloud logging", "an advertisement printed by every command"),
)


RANK_ZERO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)


class _HiddenLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(message.startswith(start) for start, _ in HIDDEN_LINES)


def quiet_third_party() -> None:
    """Hide :data:`HIDDEN_WARNINGS` and :data:`HIDDEN_LINES` for this process."""
    for message, category, module, _ in HIDDEN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    # Lightning's rank_zero_info writes to one of these loggers (whichever of its packages
    # was imported last); the filter sees only the lines they log.
    for name in RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _HiddenLines) for f in logger.filters):
            logger.addFilter(_HiddenLines())
