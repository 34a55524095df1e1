"""A trial's tie to the ``tune`` that started it: a trial never outlives its search.

``tune`` hands each trial its own pid in ``$FASHION_LIT_TUNE_PID``. The trial reads it
first thing (:func:`follow_tune`, before torch is imported), asks Linux for SIGTERM when
its parent dies (``prctl(PR_SET_PDEATHSIG)``), then checks that its parent is still that
``tune``: a ``tune`` killed while the trial was starting is seen either way. SIGTERM is
Lightning's clean stop once training runs (``last.ckpt``, exit status 143), and ends the
process before. The pid also lets :class:`~.reporter.TrialReporter` check the parent at
each batch where ``prctl`` does not exist. The variable is consumed: DDP ranks that the
trial starts are children of the trial, not of ``tune``.
"""

import ctypes
import os
import signal
import sys

#: The environment variable through which ``tune`` hands its pid to each trial.
TUNE_PID_ENV = "FASHION_LIT_TUNE_PID"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h

_tune_pid: int | None = None


def follow_tune() -> None:
    """In a trial started by ``tune``: stop when ``tune`` is gone, from now on."""
    global _tune_pid
    handed = os.environ.pop(TUNE_PID_ENV, None)
    if handed is None:
        return
    _tune_pid = int(handed)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != _tune_pid:
        sys.stderr.write(f"The tune process {_tune_pid} that started this trial is gone.\n")
        raise SystemExit(128 + signal.SIGTERM)


def tune_is_gone() -> bool:
    """Whether this process was started by a ``tune`` that is no longer its parent."""
    return _tune_pid is not None and os.getppid() != _tune_pid
