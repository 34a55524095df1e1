"""Reading a checkpoint: once, as data only; damage and code are refused with a plain message.

A real checkpoint of a one-epoch run is cut, flipped and poisoned in every way a file on
disk or on the wire can be; each result is either read intact or refused with the
message, never a traceback and never silently wrong weights.
"""

import io
import random
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

import fashion_lit.checkpoints.reading as reading
from fashion_lit.checkpoints import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
    read,
)
from fashion_lit.checkpoints.saving import AtomicCheckpointIO
from fashion_lit.network import NeuralNetwork
from tests.helpers.checkpoints import CODE, CreatesAFile, trained_checkpoint
from tests.helpers.cli import expect_cli_error
from tests.helpers.paths import REPO

CORRUPT = "is corrupted or truncated, or not a checkpoint at all"


@pytest.fixture(scope="module")
def good(tmp_path_factory, tiny_mirror, tiny_checksums) -> Path:
    """``last.ckpt`` of a one-epoch run on the tiny data."""
    return trained_checkpoint(tmp_path_factory.mktemp("trained"), tiny_mirror, tiny_checksums)


def outcome(path: Path, original: dict) -> str:
    """``"intact"`` if ``path`` reads as ``original``'s weights, ``"refused"`` if it is
    refused as damaged; anything else fails the test."""
    try:
        checkpoint = read(path)
    except CorruptCheckpointError as error:
        assert CORRUPT in str(error) and str(path) in str(error)
        return "refused"
    for key, tensor in original["state_dict"].items():
        assert torch.equal(checkpoint.contents["state_dict"][key], tensor), key
    return "intact"


def test_a_checkpoint_cut_anywhere_is_refused_as_corrupted(good, tmp_path):
    data, original = good.read_bytes(), read(good).contents
    cuts = [len(data) * i // 100 for i in range(100)] + list(range(45_000, 50_001, 500))
    cut = tmp_path / "cut.ckpt"
    for length in cuts:
        cut.write_bytes(data[:length])
        assert outcome(cut, original) == "refused", length


def test_flipped_bytes_are_refused_or_change_nothing(good, tmp_path):
    data, original = good.read_bytes(), read(good).contents
    flipped = tmp_path / "flipped.ckpt"
    outcomes = []
    for position in random.Random(0).sample(range(len(data)), 40):
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        flipped.write_bytes(bytes(damaged))
        outcomes.append(outcome(flipped, original))
    assert "refused" in outcomes


def test_a_flipped_byte_in_a_tensor_is_caught_by_the_zip_crc(good, tmp_path):
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        largest = max(archive.infolist(), key=lambda member: member.file_size)
    # A stored member's bytes follow its local header: 30 bytes, its name, its extra field.
    name_length = int.from_bytes(
        data[largest.header_offset + 26 : largest.header_offset + 28], "little"
    )
    extra_length = int.from_bytes(
        data[largest.header_offset + 28 : largest.header_offset + 30], "little"
    )
    start = largest.header_offset + 30 + name_length + extra_length
    data[start + largest.file_size // 2] ^= 0x01
    flipped = tmp_path / "flipped.ckpt"
    flipped.write_bytes(bytes(data))
    with pytest.raises(CorruptCheckpointError, match=f"Bad CRC-32 for file '{largest.filename}'"):
        read(flipped)


def test_a_pickle_that_calls_a_function_is_refused_as_code_and_never_run(tmp_path):
    marker = tmp_path / "marker"
    poisoned = tmp_path / "poisoned.ckpt"
    torch.save({"state_dict": NeuralNetwork().state_dict(), "x": CreatesAFile(marker)}, poisoned)
    with pytest.raises(UnsafeCheckpointError, match=CODE) as error:
        read(poisoned)
    assert "io.open" in str(error.value) and "corrupted" not in str(error.value)
    assert not marker.exists()


def test_a_poisoned_legacy_format_file_is_refused_as_code(tmp_path):
    marker = tmp_path / "marker"
    poisoned = tmp_path / "poisoned.pth"
    torch.save({"x": CreatesAFile(marker)}, poisoned, _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError, match=CODE):
        read(poisoned)
    assert not marker.exists()


def test_the_trainers_restore_is_data_only_too(tmp_path):
    marker = tmp_path / "marker"
    poisoned = tmp_path / "poisoned.ckpt"
    torch.save({"x": CreatesAFile(marker)}, poisoned)
    with pytest.raises(Exception, match="Weights only load failed"):
        AtomicCheckpointIO().load_checkpoint(poisoned, weights_only=False)
    assert not marker.exists()


def test_a_cut_checkpoint_given_to_test_ends_in_the_plain_message(run_cli, tiny_args, good, capsys):
    Path("cut.ckpt").write_bytes(good.read_bytes()[:47_000])
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--ckpt_path=cut.ckpt")
    assert f"--ckpt_path cut.ckpt: cut.ckpt {CORRUPT}" in err
    assert "Traceback" not in err and "Errno" not in err


def test_fashion_lit_reads_a_checkpoint_once_per_command(run_cli, tiny_args, good, monkeypatch):
    shutil.copy(good, "model.ckpt")
    reads = []
    monkeypatch.setattr(reading.Path, "read_bytes", counted(reading.Path.read_bytes, reads))
    run_cli("test", *tiny_args, "--ckpt_path=model.ckpt")
    assert [Path(path).name for path in reads if str(path).endswith(".ckpt")] == ["model.ckpt"]


def counted(read_bytes, calls: list):
    def read_and_count(path):
        calls.append(path)
        return read_bytes(path)

    return read_and_count


def test_the_readmes_checkpoint_claims_name_tests_that_exist():
    section = (REPO / "README.md").read_text().split("### Checkpoints you can trust")[1]
    named = re.findall(r"\b(test_\w+)\b(?!\.py)", section.split("\n### ")[0])
    defined = {
        name
        for path in (REPO / "tests").glob("test_*.py")
        for name in re.findall(r"^def (test_\w+)\(", path.read_text(), re.M)
    }
    assert len(named) >= 20 and set(named) <= defined, set(named) - defined
