"""Where a search's study is stored, and what each of its trials records.

By default an SQLite file, ``lightning_logs/<study>/study.db``; any ``RDBStorage`` URL
(``postgresql://…``) lets many machines share one. ``tune`` and each trial's ``fit`` open
it with :func:`open_storage`. Each trial records the user attributes below, so that it can
be reproduced and found from any machine.
"""

import warnings
from pathlib import Path

from filelock import FileLock
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage

STUDY_DB = "study.db"
#: The search maximises fashion_lit.metrics.MONITOR, reported after each validation.
DIRECTION = "maximize"

# A trial's user attributes, beside its parameters and values:
#: the global seed of its ``fit`` (``seed_everything``),
SEED = "seed"
#: the number of torch threads it ran with (``OMP_NUM_THREADS``),
THREADS = "threads"
#: its run folder, and the machine that has it,
RUN_DIR = "run_dir"
HOST = "host"
#: its whole configuration, as ``fit --config`` takes it,
CONFIG = "config"
#: the epoch after which the pruner stopped it, if it did,
PRUNED_AT_EPOCH = "pruned_at_epoch"
#: and the signal that stopped it, if one did (the trial is then failed, its slot free).
STOPPED_BY = "stopped_by"


def default_storage(study_dir: Path) -> str:
    """The URL of the SQLite file in the study folder (absolute: any process may use it)."""
    return f"sqlite:///{(study_dir / STUDY_DB).resolve()}"


def study_lock(study_dir: Path) -> FileLock:
    """A lock for the steps that processes sharing a study must not interleave: creating
    its tables, and counting its trials then starting one. A file lock in the study
    folder, so it covers the processes of one machine (or of one shared file system)."""
    return FileLock(study_dir / ".tune.lock")


def open_storage(url: str, heartbeat_interval: int | None = None) -> RDBStorage:
    """Optuna's RDB storage at ``url``; a writer waits up to a minute for an SQLite file's
    lock rather than failing. With ``heartbeat_interval`` (seconds) a running trial records
    heartbeats, and one whose heartbeat stopped counts as failed after twice that."""
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    with warnings.catch_warnings():
        # The heartbeat has been "experimental" in Optuna since 2.9; it is what frees the
        # slot of a trial whose process was killed.
        warnings.simplefilter("ignore", ExperimentalWarning)
        return RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval)


def trial_id(storage: RDBStorage, study_name: str, number: int) -> int:
    """The storage's id of trial ``number`` of the study (Optuna addresses trials by id)."""
    return storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name(study_name), number
    )
