"""The fetcher of http(s) URLs: its size cap, deadline, redirects, attempts and clean-up,
against a real server on 127.0.0.1 that misbehaves on request, and real signals."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from fashion_lit.io.fetch import (
    DOWNLOAD_TIMEOUT_ENV,
    MAX_DOWNLOAD_MB_ENV,
    FetchError,
    TooLarge,
    Unreachable,
    download,
)
from tests.helpers.cli import expect_cli_error
from tests.helpers.http_mirror import MirrorServer
from tests.helpers.paths import REPO

MB = 1 << 20


@pytest.fixture
def temporary(tmp_path, monkeypatch) -> Path:
    """The folder that stands for ``$TMPDIR``: where downloads go, and nothing must stay."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))  # tempfile's documented setting
    return folder


@pytest.fixture
def served(tmp_path) -> Path:
    """A folder with ``x.ckpt``, 64 KiB, for the server to serve."""
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "x.ckpt").write_bytes(bytes(range(256)) * 256)
    return folder


def test_an_endless_stream_is_stopped_at_the_cap_and_leaves_nothing(served, temporary, monkeypatch):
    monkeypatch.setenv(MAX_DOWNLOAD_MB_ENV, "1")
    with MirrorServer(served, fault="endless") as server:
        with pytest.raises(TooLarge) as error:
            download(f"{server.url}x.ckpt")
    assert str(error.value) == (
        f"Cannot download {server.url}x.ckpt: it goes on past {MB} bytes, more than it can "
        "be: reading stopped there."
    )
    assert server.requests == ["x.ckpt"]  # not attempted again
    assert list(temporary.iterdir()) == []


def test_a_content_length_over_the_cap_is_refused_before_reading(served, temporary, monkeypatch):
    (served / "big.ckpt").write_bytes(bytes(2 * MB))
    monkeypatch.setenv(MAX_DOWNLOAD_MB_ENV, "1")
    with MirrorServer(served) as server:
        with pytest.raises(TooLarge, match=f"it is {2 * MB} bytes, more than the {MB} it may be"):
            download(f"{server.url}big.ckpt")
    assert list(temporary.iterdir()) == []


def test_a_trickle_is_stopped_at_the_deadline(served, temporary, monkeypatch):
    monkeypatch.setenv(DOWNLOAD_TIMEOUT_ENV, "1")
    with MirrorServer(served, fault="trickle") as server:
        started = time.monotonic()
        with pytest.raises(Unreachable) as error:
            download(f"{server.url}x.ckpt")
        waited = time.monotonic() - started
    assert 1 <= waited < 2
    assert str(error.value) == (
        f"Cannot download {server.url}x.ckpt: not done after 1 s (${DOWNLOAD_TIMEOUT_ENV})."
    )
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize("target", ["file:///etc/", "ftp://127.0.0.1/mirror/"])
def test_a_redirect_to_anything_but_http_is_refused(target, served, temporary):
    with MirrorServer(served, fault=f"redirect:{target}") as server:
        with pytest.raises(FetchError) as error:
            download(f"{server.url}x.ckpt")
    assert str(error.value) == (
        f"Cannot download {server.url}x.ckpt: refused: redirected to {target}x.ckpt?moved; "
        "only http:// and https:// redirects are followed."
    )
    assert server.requests == ["x.ckpt"]
    assert list(temporary.iterdir()) == []


def test_a_server_error_is_retried_after_a_second(served, temporary):
    with MirrorServer(served, faults=["503"]) as server:
        started = time.monotonic()
        path = download(f"{server.url}x.ckpt")
        waited = time.monotonic() - started
    assert path.read_bytes() == (served / "x.ckpt").read_bytes()
    assert server.requests == ["x.ckpt", "x.ckpt"]
    assert 1 <= waited < 2


def test_three_attempts_one_then_two_seconds_apart_are_all(served, temporary):
    with MirrorServer(served, faults=["429", "503", "500"]) as server:  # a fourth would do
        started = time.monotonic()
        with pytest.raises(FetchError) as error:
            download(f"{server.url}x.ckpt")
        waited = time.monotonic() - started
    assert str(error.value) == (
        f"Cannot download {server.url}x.ckpt: the server answered 500 Internal Server Error."
    )
    assert server.requests == ["x.ckpt"] * 3
    assert 3 <= waited < 4.5
    assert list(temporary.iterdir()) == []


def test_a_missing_file_is_not_asked_for_again(served, temporary):
    with MirrorServer(served, faults=["404"]) as server:
        with pytest.raises(FetchError, match=r"the server answered 404 Not Found\.$"):
            download(f"{server.url}x.ckpt")
    assert server.requests == ["x.ckpt"]


def test_a_bad_limit_in_the_environment_is_named(served, temporary, monkeypatch):
    monkeypatch.setenv(MAX_DOWNLOAD_MB_ENV, "lots")
    with pytest.raises(FetchError) as error:
        download("http://127.0.0.1:1/x.ckpt")
    assert str(error.value) == (
        "Cannot download http://127.0.0.1:1/x.ckpt: $FASHION_LIT_MAX_DOWNLOAD_MB is 'lots'; "
        "set it to a positive number, or unset it."
    )


def test_sigterm_is_back_to_its_default_after_a_download(served, temporary):
    with MirrorServer(served) as server:
        download(f"{server.url}x.ckpt")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_sigterm_handler_of_the_programs_own_is_left_in_place(served, temporary):
    def own(signum, frame) -> None:  # as Lightning's, during fit
        pass

    previous = signal.signal(signal.SIGTERM, own)
    try:
        with MirrorServer(served) as server:
            download(f"{server.url}x.ckpt")
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, previous)


#: Resolves the checkpoint URL argv[1] as ``--ckpt_path`` does, then prints the file.
RESOLVE = (
    "import sys; from fashion_lit.checkpoints.locate import resolve; print(resolve(sys.argv[1]))"
)


def test_sigterm_mid_download_leaves_no_temporary_file(served, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with MirrorServer(served, fault="stall") as server:
        resolving = subprocess.Popen(
            [sys.executable, "-c", RESOLVE, f"{server.url}x.ckpt"],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(temporary)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert server.stalled.wait(60), "the download never started"
            assert list(temporary.iterdir()), "the download has no temporary folder"
            resolving.send_signal(signal.SIGTERM)
            resolving.wait(30)
        finally:
            resolving.kill()
    assert resolving.returncode == 128 + signal.SIGTERM
    assert list(temporary.iterdir()) == []


def test_a_checkpoint_url_over_the_cap_is_a_one_line_error_with_status_2(
    run_cli, tiny_args, served, capsys, monkeypatch
):
    (served / "big.ckpt").write_bytes(bytes(2 * MB))
    monkeypatch.setenv(MAX_DOWNLOAD_MB_ENV, "1")
    with MirrorServer(served) as server:
        url = f"{server.url}big.ckpt"
        err = expect_cli_error(run_cli, capsys, "test", *tiny_args, f"--ckpt_path={url}")
    assert err.strip().splitlines()[-1] == (
        f"error: --ckpt_path {url}: Cannot download {url}: it is {2 * MB} bytes, more than the "
        f"{MB} it may be. Check the URL or the limits (${MAX_DOWNLOAD_MB_ENV} MB, "
        f"${DOWNLOAD_TIMEOUT_ENV} seconds), or download the file another way and pass its path."
    )
