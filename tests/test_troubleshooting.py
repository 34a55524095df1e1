# ruff: noqa: E501 - the table's messages are quoted whole, as the README prints them
"""The README's troubleshooting table holds only messages that fashion_lit really prints.

Each row's message is produced here by a real run of what causes it (the CLI, the
acquisition, a server, a file system that is full), and must match the row, where ``…``
and the placeholders ``X``, ``N``, ``K``, ``URL`` and ``<key>`` stand for any text. A row
without a run here, or a run whose message no longer matches, fails the test, so that the
table cannot drift from the code again.
"""

import gzip
import os
import re
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest
import torch
from PIL import Image

from fashion_lit.data import DataVerificationError, acquire
from fashion_lit.data.checksums import load_checksums
from fashion_lit.data.verify import CorruptFileError, check_content
from fashion_lit.module import ImageClassifier
from fashion_lit.network import NeuralNetwork
from tests.helpers import serve
from tests.helpers.checkpoints import CreatesAFile, other_architecture_state_dict
from tests.helpers.full_disk import acquire_with_little_room
from tests.helpers.http_mirror import MirrorServer
from tests.helpers.paths import REPO
from tests.helpers.picture_fuzz import damaged_exif_jpeg
from tests.helpers.tiny_data import TINY_VAL

README = REPO / "README.md"
PLACEHOLDERS = re.compile(r"…|<key>|\b(?:X|N|K|URL)\b")


def table_rows() -> list[str]:
    """The message (first code span) of each row of the README's troubleshooting table."""
    section = README.read_text().split("## Troubleshooting", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [row.split("`")[1] for row in rows]


def pattern(message: str) -> re.Pattern:
    parts = PLACEHOLDERS.split(message)
    return re.compile(".+?".join(re.escape(part) for part in parts), re.S)


@dataclass
class Run:
    """What a scenario needs: the CLI in-process, a folder, and the tiny data set."""

    cli: Callable
    capsys: pytest.CaptureFixture
    folder: Path
    mirror: Path
    checksums: Path
    options: list[str]
    server: Callable[[], serve.Server]  # the module's server, started when first asked for

    def error(self, *args: str) -> str:
        """Run the CLI; expect it to refuse with exit status 2; return what it printed."""
        with pytest.raises(SystemExit) as exit_:
            self.cli(*args)
        assert exit_.value.code == 2
        captured = self.capsys.readouterr()
        return captured.err + captured.out

    def state_dict(self, name: str = "model.pth") -> str:
        torch.save(NeuralNetwork().state_dict(), name)
        return name


def missing_data(run: Run) -> str:
    Path("empty").mkdir()
    return run.error("fit", *run.options, "--data.sources=[empty]")


def wrong_content(run: Run) -> str:
    expected = load_checksums(run.checksums)[1]
    content = bytearray((run.mirror / "decompressed" / expected.name).read_bytes())
    content[-1] ^= 1  # another label for the last image: same shape, other content
    Path(expected.name).write_bytes(bytes(content))
    with pytest.raises(CorruptFileError) as error:
        check_content(expected.name, expected)
    return str(error.value)


def no_trained_run(run: Run) -> str:
    return run.error("test", *run.options, "--ckpt_path=last")


def newest_run_without_best(run: Run) -> str:
    run.cli("fit", *run.options, "--trainer.max_epochs=1")
    stopped = Path("lightning_logs/version_1/checkpoints")  # stopped before a validation
    stopped.mkdir(parents=True)
    shutil.copy("lightning_logs/version_0/checkpoints/last.ckpt", stopped / "last.ckpt")
    run.capsys.readouterr()
    return run.error("test", *run.options, "--ckpt_path=best")


def no_such_checkpoint(run: Run) -> str:
    Path("runs").mkdir()
    Path("runs/a.ckpt").write_bytes(b"")
    return run.error("test", *run.options, "--ckpt_path=runs/b.ckpt")


def corrupted(run: Run) -> str:
    Path("notes.ckpt").write_text("not a checkpoint\n")
    return run.error("test", *run.options, "--ckpt_path=notes.ckpt")


def other_network(run: Run) -> str:
    torch.save(other_architecture_state_dict(), "other.pth")
    return run.error("test", *run.options, "--ckpt_path=other.pth")


def code(run: Run) -> str:
    torch.save({"x": CreatesAFile(Path("marker"))}, "poisoned.ckpt")
    return run.error("test", *run.options, "--ckpt_path=poisoned.ckpt")


def forbidden_hyperparameter(run: Run) -> str:
    checkpoint = {
        "state_dict": ImageClassifier().state_dict(),
        "hyper_parameters": {"weights": "/etc/hostname"},
    }
    torch.save(checkpoint, "path.ckpt")
    return run.error("test", *run.options, "--ckpt_path=path.ckpt")


def weights_only_false(run: Run) -> str:
    return run.error(
        "test", *run.options, f"--ckpt_path={run.state_dict()}", "--weights_only=false"
    )


def cannot_download(run: Run) -> str:
    with MirrorServer(run.folder) as server:
        return run.error("test", *run.options, f"--ckpt_path={server.url}missing.ckpt")


def needs_weights(run: Run) -> str:
    return run.error("test", *run.options)


def disk_full(run: Run) -> str:
    disk = run.folder / "disk"
    disk.mkdir()
    with MirrorServer(run.mirror) as server:
        outcome = acquire_with_little_room("tmpfs", disk, [server.url, str(run.checksums)])
    return outcome["message"]


def data_dir_unwritable(run: Run) -> str:
    Path("notes").write_text("a file, not a folder\n")
    return run.error("fit", *run.options, "--data.data_dir=notes/data")


def gzip_bomb(run: Run) -> str:
    name = load_checksums(run.checksums)[0].name
    Path("bomb").mkdir()
    with gzip.open(f"bomb/{name}.gz", "wb") as out:
        for _ in range(4):
            out.write(bytes(1 << 20))
    with pytest.raises(DataVerificationError) as error:
        acquire("data", ["bomb"], download=False, checksums=run.checksums)
    return str(error.value)


def endless_download(run: Run) -> str:
    with MirrorServer(run.folder, fault="endless") as server:
        with pytest.raises(Exception) as error:
            acquire("data", [server.url], checksums=run.checksums)
    return str(error.value)


def redirected(run: Run) -> str:
    with MirrorServer(run.folder, fault="redirect:ftp://127.0.0.1/mirror/") as server:
        with pytest.raises(Exception) as error:
            acquire("data", [server.url], checksums=run.checksums)
    return str(error.value)


def predicting(run: Run, *options: str) -> str:
    return run.error("predict", *run.options, f"--ckpt_path={run.state_dict()}", *options)


def output_exists(run: Run) -> str:
    Path("predictions.csv").write_text("kept\n")
    return predicting(run, "--prediction.output=predictions.csv")


def output_unwritable(run: Run) -> str:
    Path("a_file").write_text("")
    return predicting(run, "--prediction.output=a_file/predictions.csv")


def not_a_picture(run: Run) -> str:
    Path("notes.png").write_text("not a picture\n")
    return predicting(run, "--data.predict_paths=[notes.png]")


def too_many_pixels(run: Run) -> str:
    Image.new("1", (8000, 6000)).save("huge.png")
    return predicting(run, "--data.predict_paths=[huge.png]")


def not_a_regular_file(run: Run) -> str:
    Path("pictures").mkdir()
    os.mkfifo("pictures/p.png")
    return predicting(run, "--data.predict_paths=[pictures/p.png]")


def damaged_exif(run: Run) -> str:
    Path("photo.jpg").write_bytes(damaged_exif_jpeg())
    return predicting(run, "--data.predict_paths=[photo.jpg]")


def several_bad_pictures(run: Run) -> str:
    Path("pictures").mkdir()
    Path("pictures/a.png").write_text("no")
    Path("pictures/b.png").write_text("no")
    return predicting(run, "--data.predict_paths=[pictures]")


def port_in_use(run: Run) -> str:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = run.error("serve", f"--ckpt_path={run.state_dict()}", f"--port={port}")
    return message.replace(str(port), "8000")


def foreign_host(run: Run) -> str:
    return httpx.get(f"{run.server().url}/health", headers={"Host": "attacker.example"}).text


def too_many_megapixels(run: Run) -> str:
    picture = {"file": ("large.png", serve.blank_png(1100))}  # 1.2 megapixels, a 4 kB file
    return httpx.post(f"{run.server().url}/predict", files=picture).text


def request_too_large(run: Run) -> str:
    picture = {"file": ("photo.png", bytes(1_100_000))}
    return httpx.post(f"{run.server().url}/predict", files=picture).text


def headers_too_slow(run: Run) -> str:
    with socket.create_connection(("127.0.0.1", run.server().port)) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and no more
        connection.settimeout(30)
        return connection.recv(4096).decode()


def browser_missing(run: Run) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serve, "CHROMIUM", str(run.folder / "chromium"))
        with pytest.raises(pytest.fail.Exception) as failure, serve.debian_chromium():
            pass
    return str(failure.value).replace(str(run.folder / "chromium"), "/usr/bin/chromium")


SCENARIOS: dict[str, Callable[[Run], str]] = {
    "Could not acquire … into …": missing_data,
    "… is not the expected …:": wrong_content,
    "--ckpt_path last: No trained run found under lightning_logs": no_trained_run,
    "--ckpt_path best: The newest run, X, has no best checkpoint (…). The most recent run that has one is …: pass --ckpt_path …": newest_run_without_best,
    "--ckpt_path X: No checkpoint file X. Checkpoints in …: …": no_such_checkpoint,
    "… is corrupted or truncated, or not a checkpoint at all": corrupted,
    "The weights do not fit the model: <key> is of shape (…) in X but of shape (…) in the model": other_network,
    "… refused: it would run code when loaded (its pickle calls …)": code,
    "--ckpt_path X: the checkpoint's hyperparameter model.K = … is refused: …": forbidden_hyperparameter,
    "--weights_only false is refused: …": weights_only_false,
    "Cannot download URL: …": cannot_download,
    "test needs trained weights: pass --ckpt_path best, last, …": needs_weights,
    "Cannot write …: No space left on device; … free in …. Free some space there, or write to another disk.": disk_full,
    "data.data_dir … cannot be written: …": data_dir_unwritable,
    "… holds more than the … bytes of …: reading stopped there (a gzip bomb, or another file).": gzip_bomb,
    "… goes on past … bytes, more than … can be: reading stopped there.": endless_download,
    "refused: redirected to …; only http:// and https:// redirects are followed": redirected,
    "--prediction.output … already exists; pass --prediction.overwrite true to replace it, or name another file.": output_exists,
    "--prediction.output … cannot be written: …": output_unwritable,
    "… is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture.": not_a_picture,
    "… is … pixels (… megapixels): pictures of up to 40 megapixels are read. Shrink it first; it becomes 28×28 anyway.": too_many_pixels,
    "… is not a regular file (a folder, a FIFO or a device); only picture files are read.": not_a_regular_file,
    "… has damaged EXIF metadata (…), so which way up it is cannot be read.": damaged_exif,
    "N pictures cannot be used; fix or remove them, then run again:": several_bad_pictures,
    "--host 127.0.0.1 --port 8000: cannot listen there (Address already in use)": port_in_use,
    "Host '…': this server answers …. Use one of these in the URL, or start the server with --allowed_hosts naming the one you use.": foreign_host,
    "The request's N picture(s) hold … megapixels in all (the largest, …), more than the limit of …: send fewer or smaller pictures (the server's --max_request_megapixels sets the limit).": too_many_megapixels,
    "The request is larger than … MB, the limit: send a smaller picture (the server's --max_request_mb sets the limit).": request_too_large,
    "The request headers did not arrive within … s (the server's --header_timeout); the connection is closed.": headers_too_slow,
    "/usr/bin/chromium is missing": browser_missing,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with small limits, for the rows of ``serve``'s answers."""
    folder = tmp_path_factory.mktemp("serve")
    limits = ["--max_request_megapixels=1", "--max_request_mb=1", "--header_timeout=0.5"]
    model = serve.untrained_model(folder / "model.pth")
    with serve.Server(model, folder, "--processes=1", *limits) as server:
        yield server


def test_every_row_of_the_table_has_a_run_that_produces_it():
    assert table_rows() == list(SCENARIOS)


@pytest.mark.parametrize("message", list(SCENARIOS))
def test_the_code_prints_the_tables_message(
    message, run_cli, tiny_mirror, tiny_checksums, workdir, capsys, request
):
    options = [
        f"--data.sources=[{tiny_mirror}]",
        f"--data.checksums={tiny_checksums}",
        "--data.download=false",
        f"--data.val_size={TINY_VAL}",
        "--trainer.accelerator=cpu",
        "--trainer.max_epochs=2",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
    ]
    server = partial(request.getfixturevalue, "server")  # started by the first row that asks
    run = Run(run_cli, capsys, workdir, tiny_mirror, tiny_checksums, options, server)
    printed = SCENARIOS[message](run)
    assert pattern(message).search(printed), f"{message!r} not in:\n{printed}"


def test_placeholders_stand_for_any_text():
    assert pattern("--ckpt_path X: No checkpoint file X.").search(
        "--ckpt_path a/b.ckpt: No checkpoint file a/b.ckpt."
    )
    assert not pattern("… is not a PNG picture.").search("x.png is a PNG picture.")
