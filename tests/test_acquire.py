"""Acquisition: the chain of sources, the network, concurrent and killed acquisitions,
and sources that are hostile (gzip bombs, endless downloads, redirects) or a disk that is
full."""

import gzip
import multiprocessing
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from tqdm import tqdm

from fashion_lit.data import DataNotFoundError, DataVerificationError, acquire
from fashion_lit.data.acquire import DEFAULT_SOURCES, SOURCES_ENV, default_sources, raw_folder
from fashion_lit.data.checksums import load_checksums
from fashion_lit.data.facts import DEBIAN_DIR, UPSTREAM_MIRRORS
from fashion_lit.data.verify import sha256_of
from fashion_lit.io.fetch import DOWNLOAD_TIMEOUT_ENV
from tests.helpers.full_disk import acquire_with_little_room
from tests.helpers.http_mirror import MirrorServer

TRAIN_IMAGES = "train-images-idx3-ubyte"
CHUNK = 1 << 20  # what acquisition reads at a time


def assert_verified(raw: Path, checksums: Path) -> None:
    """The four files are in place with the manifest's hashes, and nothing half-written."""
    for file in load_checksums(checksums):
        assert sha256_of(raw / file.name) == file.sha256, file.name
    assert not list(raw.glob(".*.part"))


def acquire_with_own_lock(*args, **kwargs) -> None:
    """``acquire`` in a forked process, with a progress-bar lock of its own: tqdm's lock is
    shared with the process it was forked from, and a process killed while holding it
    would leave this test's own later progress bars waiting for it forever."""
    tqdm.set_lock(threading.RLock())
    acquire(*args, **kwargs)


def start_acquire(data_dir: Path, source: str, checksums: Path) -> multiprocessing.Process:
    """``acquire`` in another process, as a DDP rank or a second terminal would run it.

    Forked, so that it starts at once instead of importing torch again.
    """
    process = multiprocessing.get_context("fork").Process(
        target=acquire_with_own_lock, args=(data_dir, [source]), kwargs={"checksums": checksums}
    )
    process.start()
    return process


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_folder_of_gz_files_is_decompressed_into_torchvisions_layout(
    tiny_mirror, tiny_checksums, tmp_path
):
    raw = acquire(tmp_path / "data", [tiny_mirror], download=False, checksums=tiny_checksums)
    assert raw == raw_folder(tmp_path / "data") == tmp_path / "data" / "FashionMNIST" / "raw"
    for file in load_checksums(tiny_checksums):
        with gzip.open(tiny_mirror / file.archive, "rb") as archive:
            assert (raw / file.name).read_bytes() == archive.read()
    assert_verified(raw, tiny_checksums)


def test_a_folder_of_decompressed_files_and_a_file_url_are_sources(
    tiny_mirror, tiny_checksums, tmp_path
):
    for name, source in (("plain", tiny_mirror / "decompressed"), ("url", tiny_mirror.as_uri())):
        raw = acquire(tmp_path / name, [source], download=False, checksums=tiny_checksums)
        assert_verified(raw, tiny_checksums)


def test_acquired_files_are_readable_by_others(tiny_mirror, tiny_checksums, tmp_path):
    raw = acquire(tmp_path / "data", [tiny_mirror], download=False, checksums=tiny_checksums)
    umask = os.umask(0)
    os.umask(umask)
    assert all((path.stat().st_mode & 0o666) == 0o666 & ~umask for path in raw.glob("*-ubyte"))


def test_sources_come_from_the_environment_in_order(
    tiny_mirror, tiny_checksums, tmp_path, monkeypatch
):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(SOURCES_ENV, f"{empty}, {tiny_mirror}")
    assert default_sources() == [str(empty), str(tiny_mirror)]
    assert_verified(
        acquire(tmp_path / "data", download=False, checksums=tiny_checksums), tiny_checksums
    )


def test_default_sources_are_debians_folder_then_torchvisions_mirror(monkeypatch):
    monkeypatch.delenv(SOURCES_ENV, raising=False)
    assert default_sources() == list(DEFAULT_SOURCES) == [DEBIAN_DIR, *UPSTREAM_MIRRORS]
    assert UPSTREAM_MIRRORS[0].startswith("http")


def test_an_http_mirror_is_a_source(tiny_mirror, tiny_checksums, tmp_path):
    with MirrorServer(tiny_mirror) as server:
        raw = acquire(tmp_path / "data", [server.url], checksums=tiny_checksums)
    assert_verified(raw, tiny_checksums)
    assert sorted(server.requests) == sorted(f.archive for f in load_checksums(tiny_checksums))


@pytest.mark.parametrize(
    ("fault", "attempts"), [("404", 1), ("500", 3), ("close", 3), ("short", 3)]
)
def test_a_failing_http_mirror_gives_way_to_the_next_source(
    fault, attempts, tiny_mirror, tiny_checksums, tmp_path, capsys
):
    with MirrorServer(tiny_mirror, faults=[fault] * attempts) as server:
        raw = acquire(tmp_path / "data", [server.url, tiny_mirror], checksums=tiny_checksums)
    assert_verified(raw, tiny_checksums)
    assert server.requests[:attempts] == [f"{TRAIN_IMAGES}.gz"] * attempts
    said = capsys.readouterr().err.splitlines()
    from_mirror = next(line for line in said if line.endswith(f": verified, from {tiny_mirror}"))
    assert TRAIN_IMAGES in from_mirror.split(": verified")[0].split(", ")


def test_a_transient_http_failure_is_retried(tiny_mirror, tiny_checksums, tmp_path, capsys):
    with MirrorServer(tiny_mirror, faults=["500", "short"]) as server:
        raw = acquire(tmp_path / "data", [server.url], checksums=tiny_checksums)
    assert_verified(raw, tiny_checksums)
    assert len(server.requests) == 4 + 2


def test_an_unreachable_mirror_fails_quickly_with_the_offline_message(tiny_checksums, tmp_path):
    url = f"http://127.0.0.1:{unused_port()}/"
    started = time.monotonic()
    with pytest.raises(DataNotFoundError) as error:
        acquire(tmp_path / "data", [url], checksums=tiny_checksums)
    assert time.monotonic() - started < 10
    message = str(error.value)
    assert f"  - {url}: unreachable: " in message
    assert all(f.archive in message for f in load_checksums(tiny_checksums))
    assert f"copy them into {raw_folder(tmp_path / 'data')}" in message


def test_a_silent_mirror_times_out(tiny_checksums, tmp_path, monkeypatch):
    monkeypatch.setenv(DOWNLOAD_TIMEOUT_ENV, "1")
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        started = time.monotonic()
        with pytest.raises(
            DataNotFoundError,
            match=rf"unreachable: not done after 1 s \(\${DOWNLOAD_TIMEOUT_ENV}\)",
        ):
            acquire(tmp_path / "data", [url], checksums=tiny_checksums)
    assert time.monotonic() - started < 5


def test_download_false_never_touches_the_network(tiny_mirror, tiny_checksums, tmp_path):
    with MirrorServer(tiny_mirror) as server:
        with pytest.raises(DataNotFoundError) as error:
            acquire(tmp_path / "data", [server.url], download=False, checksums=tiny_checksums)
    assert server.requests == []
    assert "skipped: downloading is off (data.download: false)" in str(error.value)


def test_missing_data_error_names_the_folders_the_files_and_the_fix(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError) as error:
        acquire(tmp_path / "data", [empty, "https://mirror.invalid/fashion"], download=False)
    message = str(error.value)
    assert str(raw_folder(tmp_path / "data")) in message
    assert f"{empty}: not there" in message
    assert "https://mirror.invalid/fashion: skipped" in message
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        assert name in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert SOURCES_ENV in message


def test_a_source_that_is_no_folder_or_url_is_named(tmp_path):
    with pytest.raises(ValueError, match="'ftp://mirror/' is neither a folder nor"):
        acquire(tmp_path / "data", ["ftp://mirror/"], download=False)


def test_two_processes_acquiring_into_one_empty_folder_both_end_verified(
    tiny_mirror, tiny_checksums, tmp_path
):
    data = tmp_path / "data"
    with MirrorServer(tiny_mirror, delay=0.3) as server:
        processes = [start_acquire(data, server.url, tiny_checksums) for _ in range(2)]
        for process in processes:
            process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0, 0]
    assert_verified(raw_folder(data), tiny_checksums)
    assert len(server.requests) == 4  # the second process found the files verified


def test_an_acquisition_killed_half_way_leaves_nothing_trusted_and_a_rerun_completes(
    tiny_mirror, tiny_checksums, tmp_path
):
    data, raw = tmp_path / "data", raw_folder(tmp_path / "data")
    with MirrorServer(tiny_mirror, fault="stall") as server:
        process = start_acquire(data, server.url, tiny_checksums)
        try:
            assert server.stalled.wait(30), "the acquisition never started downloading"
            deadline = time.monotonic() + 10
            while not list(raw.glob(".*.part")) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            process.kill()  # SIGKILL: no cleanup code runs
            process.join(timeout=30)
    assert process.exitcode == -signal.SIGKILL
    assert list(raw.glob(".*.part")), "killed before it began writing"
    assert not list(raw.glob("*-ubyte"))
    assert_verified(acquire(data, [tiny_mirror], checksums=tiny_checksums), tiny_checksums)


def bytes_written() -> int:
    """What this process has written so far, to files and sockets alike (Linux's wchar)."""
    return int(re.search(r"^wchar: (\d+)$", Path("/proc/self/io").read_text(), re.M)[1])


@pytest.fixture(scope="module")
def bomb_folder(tmp_path_factory) -> Path:
    """A source whose training images are a 64 KB gzip of 64 MiB of zeros."""
    folder = tmp_path_factory.mktemp("bomb")
    with gzip.open(folder / f"{TRAIN_IMAGES}.gz", "wb", compresslevel=9) as out:
        for _ in range(64):
            out.write(bytes(CHUNK))
    return folder


@pytest.mark.parametrize("served_by", ["folder", "http without Content-Length"])
def test_a_gzip_bomb_is_stopped_at_the_files_size_and_named(
    served_by, bomb_folder, tiny_checksums, tmp_path
):
    expected = load_checksums(tiny_checksums)[0]
    raw = raw_folder(tmp_path / "data")
    with MirrorServer(bomb_folder, fault="no-length") as server:
        source = str(bomb_folder) if served_by == "folder" else server.url
        before = bytes_written()
        with pytest.raises(DataVerificationError) as error:
            acquire(tmp_path / "data", [source], checksums=tiny_checksums)
        written = bytes_written() - before
    assert written <= expected.size + CHUNK  # not the 64 MiB it decompresses to
    location = (
        bomb_folder / f"{TRAIN_IMAGES}.gz"
        if served_by == "folder"
        else server.url + f"{TRAIN_IMAGES}.gz"
    )
    assert (
        f"{location} holds more than the {expected.size} bytes of {TRAIN_IMAGES}: reading "
        "stopped there (a gzip bomb, or another file)." in str(error.value)
    )
    assert not list(raw.glob(".*.part"))
    assert not (raw / TRAIN_IMAGES).exists()


def test_an_oversized_file_in_a_folder_is_not_read(tiny_checksums, tmp_path):
    expected = load_checksums(tiny_checksums)[0]
    folder = tmp_path / "huge"
    folder.mkdir()
    with open(folder / TRAIN_IMAGES, "wb") as huge:
        huge.truncate(1 << 30)  # sparse: 1 GiB that takes no room
    before = bytes_written()
    with pytest.raises(DataVerificationError) as error:
        acquire(tmp_path / "data", [folder], download=False, checksums=tiny_checksums)
    assert bytes_written() - before < CHUNK
    assert (
        f"{folder / TRAIN_IMAGES} is {1 << 30} bytes, more than {TRAIN_IMAGES} can be "
        f"({TRAIN_IMAGES} is {expected.size} bytes): it was not read." in str(error.value)
    )


def test_an_endless_download_without_content_length_is_stopped(tiny_checksums, tmp_path):
    expected = load_checksums(tiny_checksums)[0]
    started = time.monotonic()
    with MirrorServer(tmp_path, fault="endless") as server:
        with pytest.raises(DataVerificationError) as error:
            acquire(tmp_path / "data", [server.url], checksums=tiny_checksums)
    assert time.monotonic() - started < 30
    assert (
        f"Cannot download {server.url}{TRAIN_IMAGES}.gz: it goes on past "
        f"{expected.size + CHUNK} bytes, more than it can be: reading stopped there."
        in str(error.value)
    )
    assert len(server.requests) == 4  # rejected, not retried


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/mirror/", "file:///etc/"])
def test_a_redirect_to_anything_but_http_is_refused(target, tiny_checksums, tmp_path):
    with MirrorServer(tmp_path, fault=f"redirect:{target}") as server:
        with pytest.raises(DataNotFoundError) as error:
            acquire(tmp_path / "data", [server.url], checksums=tiny_checksums)
    assert (
        f"{TRAIN_IMAGES}: refused: redirected to {target}{TRAIN_IMAGES}.gz?moved; only "
        "http:// and https:// redirects are followed" in str(error.value)
    )
    assert sorted(server.requests) == sorted(f.archive for f in load_checksums(tiny_checksums))


def test_an_http_redirect_is_followed(tiny_mirror, tiny_checksums, tmp_path):
    with MirrorServer(tiny_mirror) as server:
        server.faults = [f"redirect:{server.url}"] * 4
        raw = acquire(tmp_path / "data", [server.url], checksums=tiny_checksums)
    assert_verified(raw, tiny_checksums)
    assert len(server.requests) == 8


@pytest.mark.parametrize(
    ("room", "reason"),
    [
        (
            "tmpfs",
            r"No space left on device; \d+(\.\d)? (bytes|kB|MB|GB|TB) free in {raw}\. "
            "Free some space there, or write to another disk.",
        ),
        (
            "file-size limit",
            r"File too large; the file system, or this process's file-size "
            r"limit \(`ulimit -f`\), allows no larger file\. Raise that limit, or write to "
            r"another disk\.",
        ),
    ],
)
def test_a_full_disk_is_reported_as_such_and_no_source_is_tried_again(
    room, reason, tiny_mirror, tiny_checksums, tmp_path
):
    disk = tmp_path / "disk"
    disk.mkdir()
    raw = raw_folder(disk / "data")
    with MirrorServer(tiny_mirror) as server:
        outcome = acquire_with_little_room(
            room, disk, [server.url, str(tiny_mirror), str(tiny_checksums)]
        )
    assert outcome["error"] == "NoSpaceError"
    first, second = outcome["message"].split("\n")
    assert re.fullmatch(
        rf"Cannot write {re.escape(str(raw / TRAIN_IMAGES))}: "
        + reason.format(raw=re.escape(str(raw))),
        first,
    )
    assert second == (
        "The sources are not at fault: the 4 files take 628.0 kB once decompressed. Make "
        "room for them, or acquire them into a folder on another disk (data.data_dir)."
    )
    assert server.requests == [f"{TRAIN_IMAGES}.gz"]  # downloaded once, not again
    assert not [name for name in outcome["left"] if name.endswith(".part")]
