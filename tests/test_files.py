"""The one atomic writer: a file holds its old content or its new one, never half, and a
writer that fails leaves nothing behind; an output is checked before any work is done."""

import errno
import sys

import pytest

from fashion_lit.io.files import (
    NoSpaceError,
    OutputError,
    check_writable,
    check_writable_folder,
    file_being_written,
    replaced_atomically,
)
from tests.helpers.processes import run_on_tmpfs


def test_a_finished_writer_replaces_the_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    with replaced_atomically(path) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".out.")
        assert temporary.suffix == ".csv"
        temporary.write_text("new\n")
        assert path.read_text() == "old\n"  # readers see the old file until the end
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_failed_writer_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "last.ckpt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="interrupted"):
        with replaced_atomically(path, keep_suffix=False) as temporary:
            assert temporary.name.endswith(".part")  # no *.ckpt pattern matches it
            temporary.write_text("half")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_an_existing_output_is_refused_unless_it_may_be_replaced(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("precious\n")
    with pytest.raises(OutputError) as error:
        check_writable(path, "--prediction.output", "--prediction.overwrite true")
    assert str(error.value) == (
        f"--prediction.output {path} already exists; pass --prediction.overwrite true to "
        "replace it, or name another file."
    )
    check_writable(path, "--prediction.output")  # may be replaced: accepted
    assert path.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_an_output_that_cannot_be_written_is_named(tmp_path):
    (tmp_path / "notes").write_text("a file, not a folder\n")
    path = tmp_path / "notes" / "out.csv"
    with pytest.raises(OutputError) as error:
        check_writable(path, "--prediction.output")
    assert str(error.value) == (
        f"--prediction.output {path} cannot be written: {tmp_path / 'notes'} is a file, not a "
        "folder."
    )


def test_an_output_on_a_read_only_file_system_is_named(tmp_path):
    check = (
        "import sys\n"
        "from fashion_lit.io.files import OutputError, check_writable\n"
        "try:\n"
        "    check_writable(sys.argv[1], '--prediction.output')\n"
        "except OutputError as error:\n"
        "    print(error)\n"
    )
    path = tmp_path / "out.csv"
    done = run_on_tmpfs(tmp_path, "ro", [sys.executable, "-c", check, str(path)])
    assert done.stdout.strip() == (
        f"--prediction.output {path} cannot be written: Read-only file system. Choose a file "
        "in a folder you can write to."
    ), done.stderr


def test_a_folder_named_as_the_output_is_refused(tmp_path):
    with pytest.raises(OutputError, match=f"--prediction.output {tmp_path} is a folder; name a"):
        check_writable(tmp_path, "--prediction.output")


def test_a_missing_output_folder_is_created(tmp_path):
    check_writable(tmp_path / "new" / "out.csv", "--prediction.output")
    assert list((tmp_path / "new").iterdir()) == []


def full_disk(file) -> None:
    """What a write to ``file`` does on a full disk: an error that names no file."""
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_fails_naming_no_file_is_traced_to_its_file(tmp_path):
    with pytest.raises(OSError) as error, open(tmp_path / "events", "wb") as file:
        full_disk(file)
    assert error.value.filename is None
    assert file_being_written(error.value) == str(tmp_path / "events")


def test_of_two_files_written_together_the_one_that_filled_the_disk_is_named(tmp_path):
    first, second = tmp_path / "model.pth", tmp_path / "model.pt2"
    with pytest.raises(NoSpaceError, match=f"^Cannot write {first}: No space left on device; "):
        with replaced_atomically(first) as first_tmp, replaced_atomically(second):
            with open(first_tmp, "wb") as file:
                full_disk(file)
    assert list(tmp_path.iterdir()) == []


def test_a_data_folder_below_a_file_is_named_with_its_option(tmp_path):
    (tmp_path / "notes").write_text("a file\n")
    with pytest.raises(OutputError) as error:
        check_writable_folder(tmp_path / "notes" / "data" / "raw", "data.data_dir", "data")
    assert str(error.value) == (
        f"data.data_dir data cannot be written: {tmp_path / 'notes'} is a file, not a folder."
    )
