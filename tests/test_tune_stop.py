"""Stopping a search and continuing it, and one study shared by two processes.

Real ``python -m fashion_lit tune`` processes, real signals (SIGKILL included) and a real
SQLite study; the README's own command (``configs/tuned.yaml`` with
``configs/search.yaml``), on the tiny data set.
"""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import optuna
import psutil
import pytest
from optuna.trial import TrialState

from fashion_lit.checkpoints import read
from fashion_lit.tune.study import default_storage
from tests.helpers.callbacks import KillTuneAtBatch, WaitForSignalAtBatch
from tests.helpers.paths import REPO
from tests.helpers.tiny_data import TINY_TRAIN, TINY_VAL
from tests.helpers.tune import run_tune, tune_command

STUDY_DIR = Path("lightning_logs") / "search"
BATCHES_PER_EPOCH = (TINY_TRAIN - TINY_VAL) // 32


def added_callback(cls: type, **init_args) -> str:
    """A fit option that adds a callback of these tests to the config's own."""
    callback = {"class_path": f"{cls.__module__}.{cls.__name__}", "init_args": init_args}
    return f"--trainer.callbacks+={json.dumps(callback)}"


def run(command: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def trials(storage: str | None = None) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="search", storage=storage or default_storage(STUDY_DIR))
    return study.get_trials()


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


def test_a_search_killed_with_sigkill_continues_where_it_stopped(tiny_args):
    killer = added_callback(KillTuneAtBatch, trial=1, batch=3)
    command = tune_command(tiny_args, 2, killer)
    killed = run(command)
    assert killed.returncode == -signal.SIGKILL
    # The orphaned trial stopped itself after that batch, saving last.ckpt.
    last = STUDY_DIR / "trial_1" / "checkpoints" / "last.ckpt"
    wait_for(last)
    assert read(last).contents["global_step"] == 4
    assert "The tune process is gone" in (STUDY_DIR / "trial_1" / "fit.log").read_text()
    finished = (STUDY_DIR / "trial_0" / "checkpoints" / "last.ckpt").read_bytes()
    assert [t.state for t in trials()] == [TrialState.COMPLETE, TrialState.RUNNING]

    # The same command again (here in this process).
    continued = run_tune(Path.cwd(), *command[command.index("tune") + 1 :])
    assert [t.state for t in trials()] == [
        TrialState.COMPLETE,
        TrialState.FAIL,
        TrialState.COMPLETE,
    ]
    assert (STUDY_DIR / "trial_0" / "checkpoints" / "last.ckpt").read_bytes() == finished
    assert "Trial 2 started" in continued and "Trial 0 started" not in continued


def test_ctrl_c_stops_the_running_trial_cleanly_and_records_it_failed(tiny_args):
    waiter = added_callback(WaitForSignalAtBatch, epoch=0, batch=2)
    command = tune_command(tiny_args, 1, waiter)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as tune:
        try:
            log = STUDY_DIR / "trial_0" / "fit.log"
            wait_for(log)
            deadline = time.monotonic() + 120
            while "WAITING FOR SIGTERM" not in log.read_text():
                assert time.monotonic() < deadline and tune.poll() is None
                time.sleep(0.1)
            tune.send_signal(signal.SIGINT)
            out, err = tune.communicate(timeout=120)
        finally:
            tune.kill()
    assert tune.returncode == 128 + signal.SIGINT, err[-3000:]
    (trial,) = trials()
    assert trial.state == TrialState.FAIL and trial.user_attrs["stopped_by"] == "SIGTERM"
    last = read(STUDY_DIR / "trial_0" / "checkpoints" / "last.ckpt").contents
    assert last["global_step"] == 3
    assert "FAIL (SIGTERM)" in out


def test_two_processes_share_one_study_without_duplicating_a_trial(tiny_args):
    storage = f"sqlite:///{Path('shared.db').resolve()}"  # any URL, as for a database server
    command = tune_command(tiny_args, 3)
    command.insert(command.index("--"), f"--storage={storage}")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as other:
        try:
            first = next(line for line in other.stdout if "started" in line)
            # The second process is this one, running the same command while the other's
            # first trial runs.
            here = run_tune(Path.cwd(), *command[command.index("tune") + 1 :])
            out, err = other.communicate(timeout=600)
        finally:
            other.kill()
    assert other.returncode == 0, err[-3000:]
    outputs = [here, first + out]
    recorded = trials(storage)
    assert [t.number for t in recorded] == [0, 1, 2]
    assert all(t.state == TrialState.COMPLETE for t in recorded)
    started = [
        {
            int(line.split()[1])
            for line in out.splitlines()
            if line.startswith("Trial") and "started" in line
        }
        for out in outputs
    ]
    assert started[0] and started[1] and not started[0] & started[1]
    assert started[0] | started[1] == {0, 1, 2}
    assert sorted(p.name for p in STUDY_DIR.glob("trial_*")) == ["trial_0", "trial_1", "trial_2"]
    assert not (STUDY_DIR / "study.db").exists()


def test_a_failing_trial_stops_the_search_and_names_its_log(tiny_args, capsys):
    Path("empty").mkdir()
    command = tune_command(tiny_args, 2, f"--data.sources=[{Path('empty').resolve()}]")
    with pytest.raises(SystemExit) as exit_:
        run_tune(Path.cwd(), *command[command.index("tune") + 1 :])
    assert exit_.value.code == 1
    log = STUDY_DIR / "trial_0" / "fit.log"
    err = capsys.readouterr().err
    assert re.search(
        rf"Trial 0 failed \(exit status [1-9]\d*\); its log: {re.escape(str(log))}", err
    )
    assert "Could not acquire" in log.read_text()
    assert [t.state for t in trials()] == [TrialState.FAIL]


def test_no_trial_starts_once_the_time_budget_is_spent(tiny_args):
    command = tune_command(tiny_args, 3)
    command.insert(command.index("--"), "--timeout=2")  # less than one trial takes
    output = run_tune(Path.cwd(), *command[command.index("tune") + 1 :])
    assert [t.state for t in trials()] == [TrialState.COMPLETE]
    assert "Trial 0 started" in output and "Trial 1 started" not in output


def test_a_trial_whose_tune_is_killed_while_it_starts_stops_at_once(tiny_args):
    # Thirty epochs: minutes of training, should the trial outlive its search.
    command = tune_command(tiny_args, 1, "--trainer.max_epochs=30")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) as tune:
        try:
            deadline = time.monotonic() + 120
            trial = None
            while trial is None:
                assert time.monotonic() < deadline and tune.poll() is None
                trial = next(iter(trial_processes(tune.pid)), None)
            tune.kill()  # the trial is still starting Python
        finally:
            tune.kill()
    started = time.monotonic()
    psutil.wait_procs([trial], timeout=60)
    assert not trial.is_running(), "the trial outlived its tune"
    assert time.monotonic() - started < 30
    assert not (STUDY_DIR / "trial_0" / "checkpoints" / "last.ckpt").exists()


def trial_processes(pid: int) -> list[psutil.Process]:
    """The trials (``fit`` processes) that process ``pid`` runs now."""
    trials = []
    for child in psutil.Process(pid).children():
        try:
            if "fit" in child.cmdline():
                trials.append(child)
        except psutil.Error:  # a process that is gone, or not yet the trial
            pass
    return trials
