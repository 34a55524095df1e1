"""Where a search's study is stored, and what each of its trials records.

By default an SQLite file, ``lightning_logs/<study>/study.db``; any ``RDBStorage`` URL
(``postgresql://…``, from ``--storage`` or ``$FASHION_LIT_STORAGE``) lets many machines
share one. ``tune`` and each trial's ``fit`` open it with :func:`open_storage`, which turns
every way a storage can fail into one :class:`StorageError` naming the fix. Each trial
records the user attributes below, so that it can be reproduced and found from any machine.

A URL's password is never written nor put on a command line: messages show it as ``***``,
the study folder's record and the trials' configs hold the URL without it, and trials get
the whole URL through ``$FASHION_LIT_STORAGE``.
"""

import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage
from sqlalchemy.exc import SQLAlchemyError

from fashion_lit.io.files import replaced_atomically

STUDY_DB = "study.db"
#: The study folder's record of the storage that holds its study, when it is not the
#: folder's study.db: the URL without its password, so that ``--report`` and a rerun find it.
STORAGE_RECORD = "storage.url"
#: The environment variable that gives the storage's URL as ``--storage`` does; ``tune``
#: hands the URL to its trials this way, so that its password is on no command line.
STORAGE_ENV = "FASHION_LIT_STORAGE"
LOCK = ".tune.lock"
#: The search maximises fashion_lit.metrics.MONITOR, reported after each validation.
DIRECTION = "maximize"
#: The drivers that fashion_lit's extras install, by the module SQLAlchemy imports.
DRIVER_EXTRAS = {"psycopg": "pip install 'fashion-lit[postgres]'"}

#: The study's user attribute: the seed of its sampler (``tune --seed``), reused after.
SAMPLER_SEED = "sampler_seed"

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

_PASSWORD = re.compile(r"(?P<user>://[^:/@]*):(?P<password>[^@/]*)@")


class StorageError(Exception):
    """A study's storage that cannot be used: the message names it (password hidden) and
    the fix."""


def masked(url: str) -> str:
    """``url`` for messages: its password as ``***``."""
    return _PASSWORD.sub(r"\g<user>:***@", url)


def without_password(url: str) -> str:
    """``url`` without its password: what may be written to a file or a command line."""
    return _PASSWORD.sub(r"\g<user>@", url)


def default_storage(study_dir: Path) -> str:
    """The URL of the SQLite file in the study folder (absolute: any process may use it)."""
    return f"sqlite:///{(study_dir / STUDY_DB).resolve()}"


def study_storage(study_dir: Path, requested: str | None) -> str:
    """The URL of the study of ``study_dir``: ``requested`` (``--storage``), else
    ``$FASHION_LIT_STORAGE``, else the one the folder records, else its study.db.

    A request for another storage than the one the folder's study lives in is refused.
    """
    requested = requested or os.environ.get(STORAGE_ENV) or None
    record = study_dir / STORAGE_RECORD
    recorded = record.read_text().strip() if record.is_file() else None
    if (study_dir / STUDY_DB).is_file():
        recorded = default_storage(study_dir)
    if requested is None:
        return with_password(recorded) if recorded else default_storage(study_dir)
    if recorded is not None and without_password(requested) != recorded:
        raise StorageError(
            f"{study_dir}'s study lives in {recorded}, not in {masked(requested)}: give that "
            f"URL (--storage or ${STORAGE_ENV}), or choose another --study_name or --study_dir."
        )
    return requested


def with_password(recorded: str) -> str:
    """The URL ``recorded`` without password, with the password of
    ``$FASHION_LIT_STORAGE`` when that names the same database (as in a trial)."""
    given = os.environ.get(STORAGE_ENV)
    return given if given and without_password(given) == without_password(recorded) else recorded


def record_storage(study_dir: Path, url: str) -> None:
    """Record in the study folder where its study lives, unless in the folder's study.db."""
    record = study_dir / STORAGE_RECORD
    if url == default_storage(study_dir) or record.is_file():
        return
    with replaced_atomically(record) as temporary:
        temporary.write_text(without_password(url) + "\n")


@contextmanager
def study_folder(study_dir: Path) -> Iterator[None]:
    """Create the study folder for what follows; if that fails, remove what was created
    (the folder, its parents, its lock), so that a study that could not open leaves no
    empty folder behind."""
    created = [path for path in (study_dir, *study_dir.parents) if not path.exists()]
    study_dir.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        if created:
            (study_dir / LOCK).unlink(missing_ok=True)
            for path in created:  # innermost first; one that holds anything stays
                with suppress(OSError):
                    path.rmdir()
        raise


def study_lock(study_dir: Path) -> FileLock:
    """A lock for the steps that processes sharing a study must not interleave: creating
    its tables, and counting its trials then starting one. A file lock in the study
    folder, so it covers the processes of one machine (or of one shared file system)."""
    return FileLock(study_dir / LOCK)


def open_storage(url: str, heartbeat_interval: int | None = None) -> RDBStorage:
    """Optuna's RDB storage at ``url``; a writer waits up to a minute for an SQLite file's
    lock rather than failing. With ``heartbeat_interval`` (seconds) a running trial records
    heartbeats, and one whose heartbeat stopped counts as failed after twice that."""
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    try:
        with warnings.catch_warnings():
            # The heartbeat has been "experimental" in Optuna since 2.9; it is what frees
            # the slot of a trial whose process was killed.
            warnings.simplefilter("ignore", ExperimentalWarning)
            return RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval
            )
    except (SQLAlchemyError, ImportError) as error:
        raise StorageError(storage_problem(url, error)) from None


def storage_problem(url: str, error: Exception) -> str:
    """What is wrong with the storage ``url``, from the error that opening it raised."""
    where = f"The storage {masked(url)}"
    missing = error.__cause__ if isinstance(error.__cause__, ImportError) else error
    if isinstance(missing, ImportError):
        driver = missing.name or "its database driver"
        fix = DRIVER_EXTRAS.get(driver, f"install the Python package that provides {driver}")
        return f"{where}: the database driver {driver} is not installed: {fix}."
    if "Could not parse" in str(error) or "Can't load plugin" in str(error):
        return (
            f"{where} is not a database URL that SQLAlchemy knows: give one such as "
            "sqlite:///path/to/study.db or postgresql://user:password@host/database."
        )
    reason = getattr(error, "orig", None) or error
    first = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    if url.startswith("sqlite"):
        fix = "Give the path of an SQLite database file in a folder that exists"
    else:
        fix = (
            "Check that the server is running and reachable from here, and the URL's user, "
            f"password and database (the URL with its password may come from ${STORAGE_ENV})"
        )
    return f"{where} cannot be opened: {masked(first)}. {fix}."


def trial_id(storage: RDBStorage, study_name: str, number: int) -> int:
    """The storage's id of trial ``number`` of the study (Optuna addresses trials by id)."""
    return storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name(study_name), number
    )
