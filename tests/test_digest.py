"""Checkpoints carry a digest of everything they hold, checked whenever they are read: a
file that would load as anything but what was saved is refused as corrupted.

The zip CRCs alone let a flipped byte through: PyTorch's zip reader obeys a member's
MS-DOS attributes, which Python's ``zipfile`` ignores, and a member marked as a folder
loaded as garbage (a NaN bias) with every CRC intact.
"""

import io
import os
import struct
import zipfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from fashion_lit.checkpoints import CorruptCheckpointError, read
from fashion_lit.checkpoints.digest import DIGEST_KEY, digest
from fashion_lit.checkpoints.saving import AtomicCheckpointIO
from fashion_lit.network import NeuralNetwork

CORRUPT = "is corrupted or truncated, or not a checkpoint at all"
MISMATCH = "what it holds differs from the SHA-256 digest written with it"


def tiny_checkpoint() -> dict[str, Any]:
    """A checkpoint as Lightning builds one, of a network of 212 parameters: its weights,
    Adam's state after a step, hyperparameters and the loop's counters."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    net(torch.randn(4, 8)).sum().backward()
    optimizer.step()
    return {
        "epoch": 3,
        "global_step": 12,
        "state_dict": {f"net.{key}": value for key, value in net.state_dict().items()},
        "optimizer_states": [optimizer.state_dict()],
        "hyper_parameters": {"label_smoothing": 0.1, "num_classes": 4, "sizes": (8, 16, 4)},
    }


def same(loaded: Any, saved: Any) -> bool:
    """Whether ``loaded`` is ``saved``: the same types, keys, dtypes, shapes and values."""
    if isinstance(saved, torch.Tensor):
        return (
            isinstance(loaded, torch.Tensor)
            and (loaded.dtype, loaded.shape) == (saved.dtype, saved.shape)
            and torch.equal(loaded, saved)
        )
    if isinstance(saved, Mapping):
        return (
            isinstance(loaded, Mapping)
            and list(loaded) == list(saved)
            and all(same(loaded[key], saved[key]) for key in saved)
        )
    if isinstance(saved, (list, tuple)):
        return (
            type(loaded) is type(saved)
            and len(loaded) == len(saved)
            and all(same(a, b) for a, b in zip(loaded, saved, strict=True))
        )
    return type(loaded) is type(saved) and loaded == saved


def outcome(path: Path, saved: dict) -> str:
    """``"refused"`` as corrupted (with the message naming ``path``), or ``"as saved"``;
    anything else, a different content included, fails the test."""
    try:
        contents = read(path).contents
    except CorruptCheckpointError as error:
        assert CORRUPT in str(error) and str(path) in str(error)
        return "refused"
    assert same(contents, saved)
    return "as saved"


def saved_checkpoint(folder: Path) -> tuple[Path, dict]:
    path = folder / "tiny.ckpt"
    checkpoint = tiny_checkpoint()
    AtomicCheckpointIO().save_checkpoint(checkpoint, path)
    return path, checkpoint


def test_every_flipped_byte_of_a_checkpoint_is_refused_or_reads_as_saved(tmp_path):
    path, saved = saved_checkpoint(tmp_path)
    data = path.read_bytes()
    assert len(data) <= 32_000
    outcomes = Counter()
    # Each byte is flipped in place and put back: rewriting a whole file per flip is
    # slow on ext4, which flushes a file truncated and written again.
    descriptor = os.open(path, os.O_WRONLY)
    try:
        for position in range(len(data)):
            for mask in (0x01, 0xFF):
                os.pwrite(descriptor, bytes([data[position] ^ mask]), position)
                outcomes[outcome(path, saved)] += 1
            os.pwrite(descriptor, data[position : position + 1], position)
    finally:
        os.close(descriptor)
    assert outcomes["refused"] + outcomes["as saved"] == 2 * len(data)
    assert outcomes["refused"] > len(data)  # most bytes are tensor data, headers or CRCs


def central_directory_entry(data: bytes, name: str) -> int:
    """Where the zip archive's central directory entry for the member ``name`` starts."""
    (entry,) = struct.unpack_from("<I", data, data.rfind(b"PK\x05\x06") + 16)
    while True:
        lengths = struct.unpack_from("<HHH", data, entry + 28)
        if data[entry + 46 : entry + 46 + lengths[0]] == name.encode():
            return entry
        entry += 46 + sum(lengths)


def member_named(data: bytes, suffix: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return next(name for name in archive.namelist() if name.endswith(suffix))


def test_the_flip_that_loaded_a_nan_bias_is_refused(tmp_path):
    path, _ = saved_checkpoint(tmp_path)
    plain = tmp_path / "model.pth"
    torch.save(NeuralNetwork().state_dict(), plain)  # the tutorial's: no digest
    for file in (path, plain):
        data = bytearray(file.read_bytes())
        member = member_named(bytes(data), "/data/1")  # a bias
        data[central_directory_entry(bytes(data), member) + 38] ^= 0xFF  # its attributes
        damaged = tmp_path / f"damaged-{file.name}"
        damaged.write_bytes(bytes(data))
        original = torch.load(file, weights_only=True)
        assert not same(torch.load(damaged, weights_only=True), original)  # and no word of it
        with pytest.raises(CorruptCheckpointError) as error:
            read(damaged)
        assert f"its zip archive is damaged: {member} is marked as a folder" in str(error.value)


def with_member_changed(data: bytes, name: str, position: int) -> bytes:
    """``data`` with one byte of the member ``name`` flipped and its CRC made to match, in
    the local header and in the central directory: as if the bytes had changed before
    the CRC was computed."""
    changed = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = archive.getinfo(name)
    names_and_extra = struct.unpack_from("<HH", data, member.header_offset + 26)
    start = member.header_offset + 30 + sum(names_and_extra)
    changed[start + position] ^= 0x01
    crc = zipfile.crc32(changed[start : start + member.file_size])
    struct.pack_into("<I", changed, member.header_offset + 14, crc)
    struct.pack_into("<I", changed, central_directory_entry(data, name) + 16, crc)
    return bytes(changed)


def test_a_tensor_changed_under_a_matching_crc_is_refused_by_the_digest(tmp_path):
    path, saved = saved_checkpoint(tmp_path)
    changed = tmp_path / "changed.ckpt"
    changed.write_bytes(with_member_changed(path.read_bytes(), "archive/data/0", 5))
    loaded = torch.load(changed, weights_only=True)  # PyTorch reads it without a word
    assert not torch.equal(
        loaded["state_dict"]["net.0.weight"], saved["state_dict"]["net.0.weight"]
    )
    with pytest.raises(CorruptCheckpointError) as error:
        read(changed)
    assert str(error.value).startswith(f"{changed} {CORRUPT}: it cannot be read ({MISMATCH})")


def test_the_trainers_restore_checks_the_digest_and_gets_what_was_saved(tmp_path):
    path, saved = saved_checkpoint(tmp_path)
    assert same(AtomicCheckpointIO().load_checkpoint(path), saved)  # without the digest
    changed = tmp_path / "changed.ckpt"
    changed.write_bytes(with_member_changed(path.read_bytes(), "archive/data/0", 5))
    with pytest.raises(CorruptCheckpointError, match=MISMATCH):
        AtomicCheckpointIO().load_checkpoint(changed)


def test_checkpoints_without_a_digest_are_read_as_before(tmp_path):
    lightnings_own, tutorials = tmp_path / "lightning.ckpt", tmp_path / "model.pth"
    torch.save(tiny_checkpoint(), lightnings_own)
    torch.save(NeuralNetwork().state_dict(), tutorials)
    assert same(read(lightnings_own).contents, tiny_checkpoint())
    assert same(AtomicCheckpointIO().load_checkpoint(lightnings_own), tiny_checkpoint())
    assert DIGEST_KEY not in read(tutorials).contents and not read(tutorials).is_lightning


def test_the_digest_is_written_as_one_more_key_of_the_checkpoint(tmp_path):
    path, saved = saved_checkpoint(tmp_path)
    written = torch.load(path, weights_only=True)
    assert list(written) == [*saved, DIGEST_KEY] and written[DIGEST_KEY] == digest(saved)
    assert DIGEST_KEY not in saved  # the caller's dictionary is left as it was


def test_the_digest_covers_every_value_in_any_order():
    saved = tiny_checkpoint()
    assert digest(saved) == digest(dict(reversed(saved.items())))
    changes = {
        "a weight": lambda c, weights: weights["net.0.bias"].add_(1e-7),
        "a dtype": lambda c, weights: weights.update(
            {"net.2.bias": weights["net.2.bias"].double()}
        ),
        "a shape": lambda c, weights: weights.update({"net.2.bias": weights["net.2.bias"][None]}),
        "the optimizer": lambda c, weights: c["optimizer_states"][0]["state"][0]["step"].add_(1),
        "a number's type": lambda c, weights: c["hyper_parameters"].update(num_classes=4.0),
        "a tuple made a list": lambda c, weights: c["hyper_parameters"].update(sizes=[8, 16, 4]),
        "the epoch": lambda c, weights: c.update(epoch=True),
    }
    for what, change in changes.items():
        changed = tiny_checkpoint()
        change(changed, changed["state_dict"])
        assert digest(changed) != digest(saved), what
