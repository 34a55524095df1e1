"""Where a study lives: a real PostgreSQL server shared by two ``tune`` processes, and each
way a storage can fail, refused in one line (exit status 2) with nothing left on disk.

The database's password is in no file that fashion_lit writes and on no trial's command
line: ``tune`` takes it from ``$FASHION_LIT_STORAGE`` and hands it on the same way.
"""

import os
import subprocess
import time
from pathlib import Path

import optuna
import psutil
import yaml
from optuna.trial import TrialState

from fashion_lit.tune.study import STORAGE_RECORD, without_password
from tests.helpers.cli import expect_cli_error
from tests.helpers.paths import REPO
from tests.helpers.postgres import postgres_server
from tests.helpers.serve import free_port
from tests.helpers.tune import run_tune, tune_command

PASSWORD = "pw-Zq81x"
STUDY_DIR = Path("lightning_logs") / "search"
UNINSTALLED = REPO / "tests" / "helpers" / "uninstalled"


def tune_options(tiny_args: list[str], *options: str) -> list[str]:
    """The arguments of one trial's search, with ``options`` for tune itself."""
    command = tune_command(tiny_args, 1)
    command[command.index("--") : command.index("--")] = options
    return command[command.index("tune") :]


def refused(run_cli, capsys, tiny_args, storage: str) -> str:
    """The one-line refusal of ``tune --storage STORAGE``; nothing may be left on disk."""
    err = expect_cli_error(run_cli, capsys, *tune_options(tiny_args, f"--storage={storage}"))
    assert not Path("lightning_logs").exists()
    (line,) = err.splitlines()
    return line


def test_an_unknown_scheme_is_refused_with_an_example(run_cli, capsys, tiny_args):
    assert refused(run_cli, capsys, tiny_args, "postgres-ql://me:secret@db/x") == (
        "error: The storage postgres-ql://me:***@db/x is not a database URL that SQLAlchemy "
        "knows: give one such as sqlite:///path/to/study.db or "
        "postgresql://user:password@host/database."
    )


def test_a_path_instead_of_a_url_is_refused(run_cli, capsys, tiny_args):
    line = refused(run_cli, capsys, tiny_args, "lightning_logs/study.db")
    assert "The storage lightning_logs/study.db is not a database URL" in line


def test_a_file_that_is_not_a_database_is_refused(run_cli, capsys, tiny_args):
    Path("notes.txt").write_text("not a database\n" * 100)
    url = f"sqlite:///{Path('notes.txt').resolve()}"
    assert refused(run_cli, capsys, tiny_args, url) == (
        f"error: The storage {url} cannot be opened: file is not a database. Give the path "
        "of an SQLite database file in a folder that exists."
    )


def test_an_unreachable_server_is_refused_with_the_password_hidden(run_cli, capsys, tiny_args):
    port = free_port()  # nothing listens there
    line = refused(run_cli, capsys, tiny_args, f"postgresql://me:{PASSWORD}@127.0.0.1:{port}/x")
    assert line.startswith(f"error: The storage postgresql://me:***@127.0.0.1:{port}/x cannot ")
    assert "Connection refused. Check that the server is running and reachable" in line
    assert PASSWORD not in line


def test_a_missing_driver_is_refused_with_the_pip_command(tiny_args):
    env = {
        **os.environ,
        "PYTHONPATH": f"{UNINSTALLED}:{REPO}",
        "FASHION_LIT_UNINSTALLED": "psycopg",
        "FASHION_LIT_STORAGE": f"postgresql://me:{PASSWORD}@127.0.0.1:5432/x",
    }
    done = subprocess.run(
        tune_command(tiny_args, 1), env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr == (
        "error: The storage postgresql://me:***@127.0.0.1:5432/x: the database driver psycopg "
        "is not installed: pip install 'fashion-lit[postgres]'.\n"
    )
    assert not Path("lightning_logs").exists()


def test_two_searches_share_a_postgresql_study_and_write_no_password(tiny_args, monkeypatch):
    with postgres_server(PASSWORD) as url:
        env = {**os.environ, "PYTHONPATH": str(REPO), "FASHION_LIT_STORAGE": url}
        command = tune_command(tiny_args, 2, "--trainer.limit_train_batches=4")
        command.insert(command.index("--"), "--threads=1")
        searches = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)
        ]
        command_lines = []
        try:
            while any(search.poll() is None for search in searches):
                for search in searches:
                    try:
                        children = psutil.Process(search.pid).children(recursive=True)
                        command_lines += [" ".join(child.cmdline()) for child in children]
                    except psutil.Error:  # ended meanwhile
                        pass
                time.sleep(0.2)
        finally:
            for search in searches:
                search.kill()
        outputs = [search.stdout.read().decode() for search in searches]
        assert [search.returncode for search in searches] == [0, 0], outputs

        # A third process (this one), with the password from libpq's own variable: the
        # study folder records where its study lives.
        monkeypatch.delenv("FASHION_LIT_STORAGE", raising=False)
        monkeypatch.setenv("PGPASSWORD", PASSWORD)
        report = run_tune(Path.cwd(), f"--search={REPO / 'configs' / 'search.yaml'}", "--report")
        study = optuna.load_study(study_name="search", storage=url)
        trials = study.get_trials()

    assert sorted(trial.number for trial in trials) == [0, 1]
    assert all(trial.state == TrialState.COMPLETE for trial in trials)
    started = [
        {line.split()[1] for line in out.splitlines() if "started" in line} for out in outputs
    ]
    assert started[0] and started[1] and not started[0] & started[1]
    assert "Its configuration: lightning_logs/search/best.yaml" in report
    assert yaml.safe_load((STUDY_DIR / "best.yaml").read_text())["trainer"]
    assert (STUDY_DIR / STORAGE_RECORD).read_text() == without_password(url) + "\n"
    assert not (STUDY_DIR / "study.db").exists()

    trial_commands = [line for line in command_lines if " fit " in line]
    assert trial_commands and not [line for line in trial_commands if PASSWORD in line]
    written = [path for path in Path.cwd().rglob("*") if path.is_file()]
    assert [path for path in written if PASSWORD.encode() in path.read_bytes()] == []
