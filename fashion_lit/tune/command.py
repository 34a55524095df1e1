"""``python -m fashion_lit tune``: a hyperparameter search over any config key, with Optuna.

::

    python -m fashion_lit tune --config configs/tuned.yaml --search configs/search.yaml
    python -m fashion_lit tune --config configs/tuned.yaml --search configs/search.yaml \\
        --trials 16 --jobs 2 -- --trainer.max_epochs=30
    python -m fashion_lit tune --search configs/search.yaml --report

Options after ``--`` are given to every trial's ``fit``. The same command again continues
the study (named after the search file unless ``--study_name`` is given) up to
``--trials`` finished trials; ``--report`` prints its table and writes its best config
without running anything. See the README's "Hyperparameter search".
"""

import os
import sys
import warnings
from pathlib import Path

import optuna
from jsonargparse import ActionYesNo
from jsonargparse.typing import PositiveFloat, PositiveInt

from fashion_lit.cli import refuse
from fashion_lit.parser import CommandParser
from fashion_lit.runs import RUNS_ROOT
from fashion_lit.tune.fit_parser import FitParser
from fashion_lit.tune.report import summary
from fashion_lit.tune.runner import Search, TrialFailed, run_search
from fashion_lit.tune.space import SearchSpace, SearchSpaceError, read_search_space
from fashion_lit.tune.study import (
    DIRECTION,
    SAMPLER_SEED,
    STORAGE_ENV,
    STUDY_DB,
    StorageError,
    default_storage,
    masked,
    open_storage,
    record_storage,
    study_folder,
    study_lock,
    study_storage,
)

PROG = "python -m fashion_lit tune"


class TuneError(Exception):
    """A tune command that cannot run as given; the message says why and what to do."""


def tune(
    config: str | None = None,
    search: str | None = None,
    trials: PositiveInt = 16,
    jobs: PositiveInt = 1,
    threads: PositiveInt | None = None,
    timeout: PositiveFloat | None = None,
    study_name: str | None = None,
    study_dir: str | None = None,
    storage: str | None = None,
    heartbeat: PositiveInt = 60,
    seed: int | None = None,
    fit_options: list[str] | None = None,
) -> int:
    """Search hyperparameters: run trials until the study has ``trials`` finished ones.

    Returns the exit status: 0, 1 when a trial failed, 128 + the signal that stopped it.

    Args:
        config: the config every trial starts from, as for ``fit --config``.
        search: the search space: a YAML file of config keys and their ranges.
        trials: the study's total of finished (complete or pruned) trials; running the
            same command again runs the remainder.
        jobs: trials run at once by this process, each in its own process.
        threads: torch threads of each trial, shared among its DDP processes (default: the
            CPU count divided by jobs).
        timeout: seconds after which no new trial is started.
        study_name: the study's name (default: the search file's name, without .yaml).
        study_dir: the folder of the study's trials (default: lightning_logs/<study_name>).
        storage: the study's database URL, e.g. postgresql://user:password@host/db to
            share the study between machines (default: $FASHION_LIT_STORAGE, else the
            storage the study folder records, else study.db in the study folder).
        heartbeat: seconds between a running trial's heartbeats; a trial whose process was
            killed is failed, and its slot run again, twice that long after its last one.
        seed: the sampler's seed, kept in the study, which a continued study reuses: with
            --jobs 1 the same search proposes the same values in the same order.
        fit_options: options given to every trial's fit (after --).
    """
    space = read_search_space(require("--search", search))
    config = require("--config", config)
    try:
        fit = FitParser(["--config", config, *(fit_options or [])])
    except (ValueError, TypeError) as error:  # a class of the config refuses its arguments
        raise TuneError(f"--config {config}: {error}") from None
    space.check_keys(fit.parse)
    name, folder = study_location(search, study_name, study_dir)
    url = study_storage(folder, storage)
    with study_folder(folder):  # removed again if the study cannot be opened
        study = open_study(name, url, folder, space, heartbeat, seed, fit)
        record_storage(folder, url)
    jobs = int(jobs)
    outcome = run_search(
        Search(
            study=study,
            storage=url,
            space=space,
            fit=fit,
            study_dir=folder,
            trials=int(trials),
            jobs=jobs,
            threads=int(threads or max(1, (os.cpu_count() or 1) // jobs)),
            timeout=timeout,
        )
    )
    print(summary(study, folder), flush=True)
    failure = outcome.failure
    if failure is not None:
        what = "" if isinstance(failure, TrialFailed) else f"{type(failure).__name__}: "
        print(f"error: {what}{failure}", file=sys.stderr, flush=True)
        return 1
    return 0 if outcome.signal is None else 128 + outcome.signal


def report(
    search: str | None, study_name: str | None, study_dir: str | None, storage: str | None
) -> None:
    """Print a study's table and write its best trial's config, running nothing."""
    name, folder = study_location(search, study_name, study_dir)
    if storage is None and STORAGE_ENV not in os.environ and not folder.is_dir():
        raise TuneError(f"There is no study folder {folder}: run the search first.")
    url = study_storage(folder, storage)
    if url == default_storage(folder) and not (folder / STUDY_DB).is_file():
        raise TuneError(f"There is no study in {folder}: run the search first.")
    opened = open_storage(url)
    if name not in optuna.get_all_study_names(storage=opened):
        raise TuneError(f"There is no study {name!r} in {masked(url)}: run the search first.")
    study = optuna.load_study(study_name=name, storage=opened)
    print(summary(study, folder), flush=True)


def study_location(
    search: str | None, study_name: str | None, study_dir: str | None
) -> tuple[str, Path]:
    """The study's name and folder, from the options or the search file's name."""
    if study_name is None:
        study_name = Path(require("--search or --study_name", search)).stem
    return study_name, Path(study_dir) if study_dir else Path(RUNS_ROOT) / study_name


def open_study(
    name: str,
    url: str,
    folder: Path,
    space: SearchSpace,
    heartbeat: int,
    seed: int | None,
    fit: FitParser,
) -> optuna.Study:
    """Create the study, or load it to continue it.

    A new study keeps ``seed`` and starts with a trial of the starting config's own values
    (those within the ranges); a continued one reuses its seed, and refuses another.
    A new study in a folder that already holds trial folders is refused, before anything
    is written there: they belong to a study that is gone, and new trials would take
    their names.
    """
    leftovers = sorted(path.name for path in folder.glob("trial_*"))
    lost = TuneError(
        f"{folder} holds trial folders ({', '.join(leftovers[:3])}{', …' * (len(leftovers) > 3)}) "
        f"but {masked(url)} has no study {name!r}: they belong to a study that is gone. Move them "
        "away, or choose another --study_name or --study_dir."
    )
    if leftovers and url == default_storage(folder) and not (folder / STUDY_DB).is_file():
        raise lost
    with study_lock(folder):  # two processes starting at once create the tables once
        storage = open_storage(url, heartbeat_interval=heartbeat)
        exists = name in optuna.get_all_study_names(storage=storage)
        if leftovers and not exists:
            raise lost
        stored = None
        if exists:
            study_id = storage.get_study_id_from_name(name)
            stored = storage.get_study_user_attrs(study_id).get(SAMPLER_SEED)
            if seed is not None and stored is not None and seed != stored:
                raise TuneError(
                    f"--seed {seed}: study {name!r} was started with --seed {stored}; "
                    "continue it with that seed (or none), or start another study."
                )
        seed = seed if stored is None else stored
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            sampler=space.sampler if seed is None else space.seeded_sampler(seed),
            pruner=space.pruner,
            direction=DIRECTION,
            load_if_exists=True,
        )
        if not exists:
            if seed is not None:
                study.set_user_attr(SAMPLER_SEED, seed)
            starting = space.starting_values(fit.base)
            if starting:
                study.enqueue_trial(starting)
        return study


def require(option: str, value: str | None) -> str:
    if value is None:
        raise TuneError(f"{option} is required.")
    return value


def main(args: list[str] | None = None) -> None:
    """Parse the ``tune`` subcommand's options and run the search, or report on it."""
    parser = CommandParser(
        prog=PROG,
        description="Search hyperparameters with Optuna: each trial is a fit of --config "
        "with values from --search, in its own run folder under lightning_logs/<study>/.",
        allow_abbrev=False,
    )
    parser.add_function_arguments(tune, skip={"fit_options"})
    parser.add_argument(
        "--report",
        action=ActionYesNo,
        default=False,
        help="print the study's table and write its best config, without running trials.",
    )
    parser.add_argument(
        "fit_options", nargs="*", default=[], help="options for every trial's fit, after --"
    )
    options = parser.parse_args(args).as_dict()
    optuna.logging.disable_default_handler()  # tune says what each trial did, in its words
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        if options.pop("report"):
            report(
                options["search"], options["study_name"], options["study_dir"], options["storage"]
            )
            return
        status = tune(**options)
    except (TuneError, SearchSpaceError) as error:
        parser.error(str(error))
    except StorageError as error:  # not a usage error: the message alone
        refuse(str(error))
    if status:
        raise SystemExit(status)
