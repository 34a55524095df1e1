"""A digest of everything a checkpoint holds, written into it and checked whenever it is read.

The zip archive's CRCs cover each member's bytes as Python's ``zipfile`` reads them, but
PyTorch reads the archive with a reader of its own (miniz), which can read other bytes:
a flipped bit in the central directory's attributes makes it read a tensor as empty, and
the CRCs still pass. The digest is taken of what the checkpoint holds (every tensor's
key path, dtype, shape and bytes, and every other value: hyperparameters, optimizer
state, epoch, callback states) before it is written, and of what a load gives back, so
it catches damage wherever it happened, end to end.

:func:`with_digest` adds it as one more top-level key, :data:`DIGEST_KEY` (Lightning
ignores keys it does not know); :func:`verified` checks it and takes it out again.
Checkpoints without it (older ones, Lightning's own, plain state_dicts such as the
tutorial's ``model.pth``) are returned as they are.
"""

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

#: The top-level key that holds the digest: the SHA-256, in hex, of :func:`digest`'s
#: serialisation. A change to that serialisation needs a new key.
DIGEST_KEY = "fashion_lit_digest"


class DigestMismatchError(ValueError):
    """What a checkpoint holds is not what was written into it."""


def with_digest(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``checkpoint`` with its digest under :data:`DIGEST_KEY`."""
    return {**checkpoint, DIGEST_KEY: digest(checkpoint)}


def verified(contents: Mapping[str, Any]) -> dict[str, Any]:
    """``contents`` without :data:`DIGEST_KEY`, once the digest there matches them; as they
    are when they carry none. Raises :class:`DigestMismatchError`."""
    rest = {key: value for key, value in contents.items() if key != DIGEST_KEY}
    if DIGEST_KEY in contents and contents[DIGEST_KEY] != digest(rest):
        raise DigestMismatchError("what it holds differs from the SHA-256 digest written with it")
    return rest


def digest(contents: Mapping[str, Any]) -> str:
    """The SHA-256, in hex, of a canonical serialisation of ``contents``.

    Each value is a one-byte type tag and its length-prefixed content, so that no two
    contents serialise alike. Mappings are in the order of their serialised keys (not
    insertion order); a tensor is its dtype, shape and bytes (on the CPU, contiguous); a
    float its ``repr``, which round-trips exactly. A value of a type ``torch.load(...,
    weights_only=True)`` does not build by itself (such as a ``torch.dtype``) is its
    type's name and ``repr``.
    """
    sha = hashlib.sha256()
    _serialise(sha.update, {key: value for key, value in contents.items() if key != DIGEST_KEY})
    return sha.hexdigest()


def _serialise(write: Callable[[bytes], Any], value: Any) -> None:
    if isinstance(value, Tensor):
        tensor = value.detach().cpu().resolve_conj().resolve_neg().contiguous()
        _field(write, b"T", f"{tensor.dtype} {tuple(tensor.shape)}".encode())
        _field(write, b"t", tensor.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(value, Mapping):
        _count(write, b"M", len(value))
        keyed = sorted(((_serialised(key), item) for key, item in value.items()), key=_first)
        for key, item in keyed:
            write(key)
            _serialise(write, item)
    elif isinstance(value, (set, frozenset)):
        _count(write, b"S", len(value))
        for item in sorted(map(_serialised, value)):
            write(item)
    elif isinstance(value, (list, tuple)):
        _count(write, b"L" if isinstance(value, list) else b"U", len(value))
        for item in value:
            _serialise(write, item)
    elif isinstance(value, str):
        _field(write, b"s", value.encode("utf-8", "surrogatepass"))
    elif isinstance(value, (bytes, bytearray)):
        _field(write, b"b", bytes(value))
    elif value is None or isinstance(value, (bool, int, float, complex)):
        # bool before int: True is an int; repr tells them apart, and is exact for floats.
        _field(write, b"n", f"{type(value).__name__} {value!r}".encode())
    else:
        kind = type(value)
        _field(write, b"o", f"{kind.__module__}.{kind.__qualname__} {value!r}".encode())


def _field(write: Callable[[bytes], Any], tag: bytes, payload: Any) -> None:
    size = memoryview(payload).nbytes
    write(tag + size.to_bytes(8, "big"))
    write(payload)


def _count(write: Callable[[bytes], Any], tag: bytes, count: int) -> None:
    write(tag + count.to_bytes(8, "big"))


def _serialised(value: Any) -> bytes:
    parts: list[bytes] = []
    _serialise(parts.append, value)
    return b"".join(parts)


def _first(pair: tuple[bytes, Any]) -> bytes:
    return pair[0]
