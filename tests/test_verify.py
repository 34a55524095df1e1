"""Verification: wrong, truncated and garbled files are rejected by name, never trusted."""

import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from fashion_lit.data import (
    CorruptFileError,
    DataVerificationError,
    FashionMNISTDataModule,
    acquire,
)
from fashion_lit.data import verify as verify_module
from fashion_lit.data.checksums import load_checksums
from fashion_lit.data.facts import DEBIAN_DIR, FILES, MNIST_PIXEL_MEAN
from fashion_lit.data.verify import VerdictRecord, is_mnist, sha256_of
from tests.helpers.tiny_data import write_idx

TRAIN_IMAGES = "train-images-idx3-ubyte"


@pytest.fixture
def bad_mirror(tiny_mirror, tmp_path) -> Path:
    """A copy of the tiny mirror, to spoil one file of."""
    return Path(shutil.copytree(tiny_mirror, tmp_path / "bad_mirror"))


@pytest.fixture
def acquired(tiny_mirror, tiny_checksums, tmp_path) -> Path:
    return acquire(tmp_path / "data", [tiny_mirror], download=False, checksums=tiny_checksums)


def test_a_truncated_gz_is_rejected_by_name_and_the_next_source_used(
    bad_mirror, tiny_mirror, tiny_checksums, tmp_path
):
    archive = bad_mirror / f"{TRAIN_IMAGES}.gz"
    archive.write_bytes(archive.read_bytes()[:-100])
    with pytest.raises(DataVerificationError) as error:
        acquire(tmp_path / "data", [bad_mirror], download=False, checksums=tiny_checksums)
    assert f"{archive} is not a complete gzip archive" in str(error.value)
    raw = acquire(
        tmp_path / "data", [bad_mirror, tiny_mirror], download=False, checksums=tiny_checksums
    )
    assert sha256_of(raw / TRAIN_IMAGES) == load_checksums(tiny_checksums)[0].sha256


def test_a_garbled_gz_is_rejected_by_name(bad_mirror, tiny_checksums, tmp_path):
    archive = bad_mirror / f"{TRAIN_IMAGES}.gz"
    archive.write_bytes(b"<html>Service unavailable</html>")
    with pytest.raises(DataVerificationError, match=f"{archive} is not a complete gzip archive"):
        acquire(tmp_path / "data", [bad_mirror], download=False, checksums=tiny_checksums)


def test_other_data_of_the_right_shape_is_rejected_with_both_hashes(
    bad_mirror, tiny_checksums, tmp_path
):
    archive = bad_mirror / f"{TRAIN_IMAGES}.gz"
    other = np.full((640, 28, 28), 7, dtype=np.uint8)
    write_idx(archive, other)
    expected = load_checksums(tiny_checksums)[0]
    with pytest.raises(DataVerificationError) as error:
        acquire(tmp_path / "data", [bad_mirror], download=False, checksums=tiny_checksums)
    message = str(error.value)
    assert f"{archive} is not the expected {TRAIN_IMAGES}" in message
    assert f"expected sha256 {expected.sha256}, {expected.size} bytes" in message
    assert (
        f"found    sha256 {hashlib.sha256(gzip.decompress(archive.read_bytes())).hexdigest()}"
        in message
    )
    assert "It is MNIST's" not in message
    assert "remove it from data.sources" in message
    assert not (tmp_path / "data" / "FashionMNIST" / "raw" / TRAIN_IMAGES).exists()


def test_a_truncated_file_in_place_is_replaced_from_a_source(
    acquired, tiny_mirror, tiny_checksums, capsys
):
    path = acquired / TRAIN_IMAGES
    path.write_bytes(path.read_bytes()[:1000])
    acquire(acquired.parents[1], [tiny_mirror], download=False, checksums=tiny_checksums)
    assert sha256_of(path) == load_checksums(tiny_checksums)[0].sha256
    assert "(it replaces the copy that failed)" in capsys.readouterr().err


def test_a_corrupt_file_in_place_with_no_good_source_is_named_and_set_aside(
    acquired, tiny_checksums, tmp_path
):
    path = acquired / TRAIN_IMAGES
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(content)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataVerificationError) as error:
        acquire(acquired.parents[1], [empty], download=False, checksums=tiny_checksums)
    message = str(error.value)
    assert f"{path} is not the expected {TRAIN_IMAGES}" in message
    assert f"found    sha256 {hashlib.sha256(content).hexdigest()}" in message
    assert f"{path}: failed verification; moved aside to {TRAIN_IMAGES}.rejected" in message
    assert (acquired / f"{TRAIN_IMAGES}.rejected").read_bytes() == content  # nothing lost
    assert not path.exists()  # and nothing reads it as FashionMNIST


def test_setup_rejects_a_truncated_file_with_a_clear_message(acquired, tiny_checksums):
    path = acquired / TRAIN_IMAGES
    path.write_bytes(path.read_bytes()[:-1])
    dm = FashionMNISTDataModule(
        data_dir=str(acquired.parents[1]), checksums=str(tiny_checksums), download=False
    )
    with pytest.raises(CorruptFileError) as error:
        dm.setup("fit")
    message = str(error.value)
    assert f"{path} is truncated: 501775 bytes, expected 501776" in message
    assert "prepare_data" in message


def test_setup_rejects_a_file_that_is_not_idx(acquired, tiny_checksums):
    (acquired / TRAIN_IMAGES).write_text("version https://git-lfs.github.com/spec/v1\n")
    dm = FashionMNISTDataModule(
        data_dir=str(acquired.parents[1]), checksums=str(tiny_checksums), download=False
    )
    with pytest.raises(CorruptFileError, match="is not an IDX file of unsigned bytes"):
        dm.setup("fit")


def test_an_unchanged_file_is_hashed_once_a_changed_one_again(
    acquired, tiny_mirror, tiny_checksums, monkeypatch
):
    hashed = []
    real_sha256_of = verify_module.sha256_of
    monkeypatch.setattr(
        verify_module, "sha256_of", lambda p: hashed.append(Path(p).name) or real_sha256_of(p)
    )
    acquire(acquired.parents[1], [tiny_mirror], download=False, checksums=tiny_checksums)
    assert hashed == []
    os.utime(acquired / TRAIN_IMAGES, ns=(0, 0))
    acquire(acquired.parents[1], [tiny_mirror], download=False, checksums=tiny_checksums)
    assert hashed == [TRAIN_IMAGES]


def test_a_verdict_that_cannot_be_recorded_leaves_no_temporary_file(acquired, tiny_checksums):
    record = VerdictRecord(acquired)
    record.path.unlink()
    record.path.mkdir()  # a folder where the record goes: the rename onto it fails
    before = sorted(p.name for p in acquired.iterdir())
    with pytest.raises(IsADirectoryError):
        record.remember(acquired / TRAIN_IMAGES, load_checksums(tiny_checksums)[0])
    assert sorted(p.name for p in acquired.iterdir()) == before


def mnist_like_labels(tmp_path: Path) -> Path:
    """A FashionMNIST-shaped training label file that starts and ends as MNIST's does."""
    labels = np.zeros(60000, dtype=np.uint8)
    labels[:10] = (5, 0, 4, 1, 9, 2, 1, 3, 1, 4)
    labels[-10:] = (9, 2, 9, 5, 1, 8, 3, 5, 6, 8)
    write_idx(tmp_path / "proxy" / "train-labels-idx1-ubyte.gz", labels)
    return tmp_path / "proxy"


def test_mnist_served_under_fashionmnists_names_is_named(tmp_path):
    proxy = mnist_like_labels(tmp_path)
    with pytest.raises(DataVerificationError) as error:
        acquire(tmp_path / "data", [proxy], download=False)
    message = str(error.value)
    assert (
        "It is MNIST's train-labels-idx1-ubyte (handwritten digits), not FashionMNIST's" in message
    )
    assert "caching proxy" in message


def test_mnist_images_are_known_by_their_mean_pixel(tmp_path):
    file = next(f for f in FILES if f.name == "t10k-images-idx3-ubyte")
    pixels = np.zeros(10000 * 28 * 28, dtype=np.int64)
    total = round(MNIST_PIXEL_MEAN[file.name] * 255 * pixels.size)
    pixels[:] = total // pixels.size
    pixels[: total % pixels.size] += 1
    write_idx(tmp_path / file.name, pixels.reshape(file.shape), compress=False)
    assert is_mnist(tmp_path / file.name, file)
    write_idx(tmp_path / file.name, (pixels + 40).reshape(file.shape), compress=False)
    assert not is_mnist(tmp_path / file.name, file)


def test_an_archive_with_mnists_upstream_md5_is_named(tmp_path, monkeypatch):
    proxy = mnist_like_labels(tmp_path)
    archive = proxy / "train-labels-idx1-ubyte.gz"
    write_idx(archive, np.zeros(60000, dtype=np.uint8))  # labels alone would not tell
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setitem(verify_module.MNIST_GZ_MD5, archive.name, md5)
    with pytest.raises(DataVerificationError, match="It is MNIST's train-labels-idx1-ubyte"):
        acquire(tmp_path / "data", [proxy], download=False)


@pytest.mark.skipif(not Path(DEBIAN_DIR).is_dir(), reason="Debian's dataset-fashion-mnist absent")
def test_debians_package_passes_the_table_and_is_not_taken_for_mnist(tmp_path):
    raw = acquire(tmp_path / "data", [DEBIAN_DIR], download=False)
    for file in FILES:
        assert not is_mnist(raw / file.name, file)


def test_an_unreadable_checksums_manifest_is_named(tmp_path):
    manifest = tmp_path / "checksums.json"
    manifest.write_text('{"train-images-idx3-ubyte": {"sha256": "00"}}')
    with pytest.raises(ValueError, match=f"data.checksums: cannot read the manifest {manifest}"):
        load_checksums(manifest)
