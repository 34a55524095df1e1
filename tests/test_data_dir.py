"""A ``--data.data_dir`` that cannot be written (read-only, a file in the way, a name the
file system refuses) ends the command with a plain error naming it, exit status 2,
before anything is acquired or trained."""

import os
import sys
from pathlib import Path

from tests.helpers.cli import expect_cli_error
from tests.helpers.processes import run_on_tmpfs
from tests.helpers.tiny_data import tiny_options


def test_a_data_dir_below_a_file_is_refused_by_name(run_cli, tiny_args, capsys):
    Path("notes").write_text("a file, not a folder\n")
    err = expect_cli_error(run_cli, capsys, "fit", *tiny_args, "--data.data_dir=notes/data")
    assert err.endswith(
        "error: data.data_dir notes/data cannot be written: notes is a file, not a folder.\n"
    )
    assert "Traceback" not in err
    assert Path("notes").read_text() == "a file, not a folder\n"
    assert sorted(os.listdir()) == ["notes"]  # no run folder left behind


def test_a_data_dir_whose_name_is_too_long_is_refused_by_name(run_cli, tiny_args, capsys):
    name = "d" * 300
    err = expect_cli_error(run_cli, capsys, "fit", *tiny_args, f"--data.data_dir={name}")
    assert err.endswith(
        f"error: data.data_dir {name} cannot be written: File name too long. Choose a folder "
        "you can write to.\n"
    )


def test_a_read_only_data_dir_is_refused_by_name(tmp_path, tiny_mirror, tiny_checksums):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    fit = [sys.executable, "-m", "fashion_lit", "fit", *tiny_options(tiny_mirror, tiny_checksums)]
    done = run_on_tmpfs(read_only, "ro", [*fit, f"--data.data_dir={read_only / 'data'}"])
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.endswith(
        f"error: data.data_dir {read_only / 'data'} cannot be written: Read-only file system. "
        "Choose a folder you can write to.\n"
    )
    assert "Traceback" not in done.stderr
