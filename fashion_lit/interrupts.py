"""A clean stop on Ctrl-C or SIGTERM: finish the current batch, save, exit with the signal's status.

Lightning stops ``fit`` between two batches on SIGTERM (as schedulers send it) and
:class:`~fashion_lit.checkpoints.LastCheckpoint` saves ``last.ckpt`` then, so that
``fit --ckpt_path last`` continues from the next batch. ``clean_stop_on_signals`` makes
Ctrl-C do the same (a second Ctrl-C interrupts at once) and exits with the shell's
status for the signal (130, 143) rather than 0.
"""

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lightning.pytorch.utilities.exceptions import SIGTERMException
from lightning.pytorch.utilities.rank_zero import rank_zero_only


@contextmanager
def clean_stop_on_signals() -> Iterator[None]:
    """Stop ``fit`` between two batches on Ctrl-C as on SIGTERM, and exit with 128 + signal.

    A KeyboardInterrupt can land mid-step, and a checkpoint saved then would mix two steps;
    Lightning finishes the batch on SIGTERM, so a first Ctrl-C becomes one (outside
    training, or a second time, it interrupts as usual). Lightning would exit with status 0.
    """
    previous = signal.getsignal(signal.SIGINT)
    received = signal.SIGTERM

    def stop_after_the_batch(signum: int, frame: Any) -> None:
        nonlocal received
        signal.signal(signal.SIGINT, previous)
        if not callable(signal.getsignal(signal.SIGTERM)):
            raise KeyboardInterrupt
        received = signal.SIGINT
        _say(
            "\nInterrupted: stopping after the current batch and saving last.ckpt "
            "(press Ctrl-C again to stop at once)."
        )
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGINT, stop_after_the_batch)
    try:
        yield
    except SIGTERMException as stop:
        raise SystemExit(128 + received) from stop
    finally:
        signal.signal(signal.SIGINT, previous)


@rank_zero_only
def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
