"""Running a search's trials: each one an ordinary ``fit`` process, up to a total for the study.

A trial is ``python -m fashion_lit fit`` with the search's config and options, its values
and seed as options, and its own run folder (``lightning_logs/<study>/trial_N``), so that
trials share no random state and never race for a ``version_N``; its ``TrialReporter``
reports ``val/acc`` and prunes, and its output goes to ``fit.log`` there.

``jobs`` threads run one trial at a time each through ``study.optimize``, which records
heartbeats: a trial whose ``tune`` was killed is failed by a later ``tune`` and its slot
run again. A thread starts a trial only while finished and running trials are fewer than
the total, counted under a file lock in the study folder with the start, so processes on
one machine never overshoot it (several machines may, by a trial each).

Each trial gets the storage's URL, password included, and ``tune``'s pid through its
environment (:mod:`.study`, :mod:`.parent`): no file or command line holds the password,
and a trial stops whenever its ``tune`` is gone.

Ctrl-C or SIGTERM sends each running trial SIGTERM: it stops after its batch, saves
``last.ckpt`` and is failed, its slot free. Trials run in their own sessions, so a Ctrl-C
reaches them only through ``tune``, once.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import FrozenTrial, TrialState

from fashion_lit.metrics import MONITOR
from fashion_lit.runs import logger_options
from fashion_lit.tune.fit_parser import FitParser
from fashion_lit.tune.parent import TUNE_PID_ENV
from fashion_lit.tune.report import format_value
from fashion_lit.tune.reporter import TrialReporter
from fashion_lit.tune.space import SearchSpace, as_options
from fashion_lit.tune.study import (
    CONFIG,
    HOST,
    PRUNED_AT_EPOCH,
    RUN_DIR,
    SEED,
    STOPPED_BY,
    STORAGE_ENV,
    THREADS,
    study_lock,
    without_password,
)

#: How often a thread that waits for other processes' trials looks at the study again.
POLL_SECONDS = 2.0
#: Exit statuses of a ``fit`` stopped by Ctrl-C or SIGTERM (``fashion_lit.interrupts``)
#: and the signals themselves: a trial stopped so is failed, and its slot is free.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class TrialFailed(Exception):
    """A trial's ``fit`` failed other than by a stop: the search stops, naming its log."""


class TrialStopped(Exception):
    """A trial's ``fit`` was stopped by a signal: the trial fails, and its slot is free."""


class Next(Enum):
    START = "start a trial"
    WAIT = "wait for running trials"
    DONE = "leave"


@dataclass(frozen=True)
class Search:
    """What this ``tune`` command runs, and where (the options of :func:`~.command.tune`)."""

    study: optuna.Study  # opened with its storage, sampler and pruner
    storage: str  # its database URL, handed to each trial's ``fit`` in its environment
    space: SearchSpace
    fit: FitParser  # the ``fit`` parser with the search's config and options
    study_dir: Path  # the trials' run folders are in it (it exists)
    trials: int
    jobs: int
    threads: int
    timeout: float | None = None


class SearchRun:
    """One run of :func:`run_search`: the threads, the trials' processes, and the stop."""

    def __init__(self, search: Search) -> None:
        self.search = search
        self.failure: BaseException | None = None
        self.signal: int | None = None
        self._stop = threading.Event()
        self._deadline = None if search.timeout is None else time.monotonic() + search.timeout
        self._slot_lock = study_lock(search.study_dir)
        self._children: set[subprocess.Popen] = set()
        self._children_lock = threading.Lock()
        self._said_wait = False

    def run(self) -> None:
        """Run trials in ``jobs`` threads until the study is done, stopped or out of time."""
        workers = [threading.Thread(target=self._work) for _ in range(self.search.jobs)]
        with self._signals_stop_the_search():
            for worker in workers:
                worker.start()
            for worker in workers:
                while worker.is_alive():  # a timed join lets the signal handler run promptly
                    worker.join(timeout=0.5)

    @contextmanager
    def _signals_stop_the_search(self) -> Iterator[None]:
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.signal is None:
            self.signal = signum
            say(
                f"{signal.Signals(signum).name}: stopping the search; each running trial stops "
                "after its batch, saves last.ckpt and is recorded as failed."
            )
        self._stop.set()
        with self._children_lock:
            for child in self._children:
                child.send_signal(signal.SIGTERM)

    def _work(self) -> None:
        try:
            while self._next_trial():
                pass
        except BaseException as error:  # noqa: B036 - any error ends this thread's search
            self.failure = self.failure or error
            self._stop.set()

    def _next_trial(self) -> bool:
        """Start, wait for, or leave the next trial; False when this thread is done."""
        lock = self._slot_lock
        lock.acquire()
        try:
            step = self._decide()
            if step is Next.DONE:
                return False
            if step is Next.WAIT:
                lock.release()
                self._stop.wait(POLL_SECONDS)
                return True

            def objective(trial: optuna.Trial) -> float:
                # The trial is asked for and sampled under the lock, which goes before it runs.
                try:
                    options = self._prepare(trial)
                finally:
                    lock.release()
                return self._run(trial, options)

            self.search.study.optimize(objective, n_trials=1, catch=(TrialStopped,))
            return True
        finally:
            if lock.is_locked:
                lock.release()

    def _decide(self) -> Next:
        study, total = self.search.study, self.search.trials
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        finished = sum(trial.state in FINISHED for trial in trials)
        running = sum(trial.state == TrialState.RUNNING for trial in trials)
        out_of_time = self._deadline is not None and time.monotonic() > self._deadline
        if finished >= total or self._stop.is_set() or out_of_time:
            return Next.DONE
        if finished + running < total:
            return Next.START
        if not self._said_wait:
            self._said_wait = True
            numbers = ", ".join(str(t.number) for t in trials if t.state == TrialState.RUNNING)
            say(
                f"Waiting for the running trials ({numbers}), which could complete the "
                f"study's {total}; a killed one fails 2 heartbeat intervals after its last."
            )
        return Next.WAIT

    def _prepare(self, trial: optuna.Trial) -> list[str]:
        """Sample the trial's values, record them with its seed and config; its options."""
        search = self.search
        params = search.space.suggest(trial)
        seed = trial_seed(search.fit.seed)
        options = [*as_options(params), f"--seed_everything={seed}"]
        for key, value in (
            (SEED, seed),
            (THREADS, self.threads_per_process),
            (RUN_DIR, str(self.run_dir(trial.number))),
            (HOST, socket.gethostname()),
            # Its run folder included, so that --ckpt_path best with best.yaml means this trial.
            (CONFIG, search.fit.dump([*options, *as_options(self._logger_options(trial.number))])),
        ):
            trial.set_user_attr(key, value)
        return options

    def _run(self, trial: optuna.Trial, options: list[str]) -> float:
        """Run the trial's ``fit``; its value, or the exception that records how it ended."""
        search, number = self.search, trial.number
        run_dir = self.run_dir(number)
        run_dir.mkdir(parents=True)
        log = run_dir / "fit.log"
        say(f"Trial {number} started: {describe(trial.params)} ({log})")
        command = [sys.executable, "-m", "fashion_lit", "fit", *search.fit.base_args, *options]
        command += self._run_options(number)
        started = time.monotonic()
        status = self._fit(command, log)
        minutes = f"{(time.monotonic() - started) / 60:.1f} min"
        if status == 0:
            record = stored_trial(search.study, number)
            if not record.intermediate_values:
                raise TrialFailed(f"Trial {number} reported no {MONITOR}; its log: {log}")
            if PRUNED_AT_EPOCH in record.user_attrs:
                epoch = record.user_attrs[PRUNED_AT_EPOCH]
                say(f"Trial {number} pruned after epoch {epoch} ({minutes}).")
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")
            value = max(record.intermediate_values.values())
            say(f"Trial {number} finished: best {MONITOR} {value:.4f} ({minutes}).")
            return value
        stop = stop_signal(status)
        if stop is None:
            raise TrialFailed(f"Trial {number} failed (exit status {status}); its log: {log}")
        trial.set_user_attr(STOPPED_BY, stop.name)
        say(f"Trial {number} stopped by {stop.name}: failed, its slot runs again ({minutes}).")
        raise TrialStopped(f"stopped by {stop.name}")

    @property
    def threads_per_process(self) -> int:
        """A trial's ``--threads``, shared among its processes (its DDP ranks)."""
        return max(1, self.search.threads // processes_per_trial(self.search.fit.base))

    def run_dir(self, number: int) -> Path:
        return self.search.study_dir / f"trial_{number}"

    def _run_options(self, number: int) -> list[str]:
        """The trial's run folder, and its link to the study."""
        search = self.search
        reporter = {
            "class_path": f"{TrialReporter.__module__}.{TrialReporter.__qualname__}",
            "init_args": {
                "storage": without_password(search.storage),  # written to config.yaml
                "study_name": search.study.study_name,
                "trial_number": number,
                "pruner": search.space.pruner_spec,
            },
        }
        return [
            *as_options(self._logger_options(number)),
            f"--trainer.callbacks+={json.dumps(reporter)}",
        ]

    def _logger_options(self, number: int) -> dict[str, str]:
        return logger_options(self.run_dir(number))

    def _fit(self, command: list[str], log: Path) -> int:
        """Run ``command`` with the trial's thread count, output to ``log``; its status."""
        env = {
            **os.environ,
            "OMP_NUM_THREADS": str(self.threads_per_process),
            STORAGE_ENV: self.search.storage,  # with its password, which no file may hold
            TUNE_PID_ENV: str(os.getpid()),  # the trial stops whenever this process is gone
        }
        with open(log, "w") as out:
            with self._children_lock:
                if self._stop.is_set():
                    raise TrialStopped("the search was stopped before the trial began")
                child = subprocess.Popen(
                    command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
                self._children.add(child)
            try:
                return child.wait()
            finally:
                with self._children_lock:
                    self._children.discard(child)


def run_search(search: Search) -> SearchRun:
    """Run the search's trials (see the module's docstring); how it ended."""
    run = SearchRun(search)
    run.run()
    return run


def processes_per_trial(config: Any) -> int:
    """The processes a trial's ``fit`` runs on this machine: one per device it is given
    (``trainer.devices``: a count or a list), one where it leaves the choice to Lightning."""
    devices = config.get("trainer.devices")
    if isinstance(devices, int) and not isinstance(devices, bool) and devices > 0:
        return devices
    if isinstance(devices, list | tuple) and devices:
        return len(devices)
    if isinstance(devices, str) and devices.isdigit() and int(devices) > 0:
        return int(devices)
    return 1


def trial_seed(base_seed: Any) -> int:
    """The config's seed if it is a number, else a fresh one: every trial is seeded."""
    if isinstance(base_seed, int) and not isinstance(base_seed, bool):
        return base_seed
    return secrets.randbelow(2**31)


def stop_signal(status: int) -> signal.Signals | None:
    """The signal among Ctrl-C and SIGTERM that stopped a process with ``status``, if one did.

    ``fit`` exits with 128 + the signal after a clean stop; a process killed by a signal
    before it could handle it has a negative status.
    """
    for signum in STOP_SIGNALS:
        if status in (128 + signum, -signum):
            return signal.Signals(signum)
    return None


def stored_trial(study: optuna.Study, number: int) -> FrozenTrial:
    """Trial ``number`` as the storage has it now (its ``fit`` process writes there too)."""
    (record,) = [trial for trial in study.get_trials(deepcopy=False) if trial.number == number]
    return record


def describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={format_value(value)}" for key, value in params.items())


def say(message: str) -> None:
    print(message, flush=True)
