"""Reading a checkpoint: once, as data only, and saying plainly what is wrong with it.

Lightning checkpoints (``*.ckpt``: the network's keys prefixed ``net.`` under
``"state_dict"``, with hyperparameters and callback states) and plain state_dicts such as
the tutorial's ``model.pth`` both hold the weights. :func:`read` takes the bytes once,
checks every CRC of ``torch.save``'s zip archive (PyTorch's reader does not, so a flipped
byte would load silently), unpickles with ``weights_only=True`` only (a pickle that calls
functions is reported as code, not damage), checks the digest that fashion_lit writes into
its checkpoints (:mod:`~fashion_lit.checkpoints.digest`), and tells the two kinds apart.
Every failure is a :class:`~fashion_lit.checkpoints.errors.CheckpointError` naming the
file and the fix.
"""

import io
import os
import pickle
import pickletools
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor, nn

from fashion_lit.checkpoints.digest import DigestMismatchError, verified
from fashion_lit.checkpoints.errors import (
    ArchitectureMismatchError,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    UnsafeCheckpointError,
)
from fashion_lit.checkpoints.hyperparameters import network_spec
from fashion_lit.checkpoints.locate import resolve
from fashion_lit.metrics import MONITOR
from fashion_lit.network import NeuralNetwork
from fashion_lit.runs import RUNS_ROOT, named_run, read_config_file, run_of, runs_root

#: The LightningModule holds the network as ``self.net``.
NET_PREFIX = "net."


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint file holds, read once."""

    path: Path  # the local file it was read from
    contents: dict[str, Any]  # the unpickled dictionary (tensors on the CPU)

    @property
    def is_lightning(self) -> bool:
        """A Lightning checkpoint (else a plain state_dict such as the tutorial's model.pth)."""
        return isinstance(self.contents.get("state_dict"), Mapping)

    @property
    def module_state_dict(self) -> dict[str, Tensor]:
        """The LightningModule's state_dict (the network's keys prefixed ``net.``)."""
        if self.is_lightning:
            return dict(self.contents["state_dict"])
        return {NET_PREFIX + key: value for key, value in self.contents.items()}

    @property
    def network_state_dict(self) -> dict[str, Tensor]:
        """The network's own state_dict: what the tutorial's ``load_state_dict`` takes."""
        if not self.is_lightning:
            return dict(self.contents)
        return {
            key[len(NET_PREFIX) :]: value
            for key, value in self.contents["state_dict"].items()
            if key.startswith(NET_PREFIX)
        }

    @property
    def fit_progress(self) -> dict[str, Any] | None:
        """The training loop's state when the checkpoint was saved (its step, its epoch),
        as ``trainer.fit_loop.load_state_dict`` takes it; None if not recorded."""
        loops = self.contents.get("loops") if self.is_lightning else None
        progress = loops.get("fit_loop") if isinstance(loops, Mapping) else None
        return dict(progress) if isinstance(progress, Mapping) else None

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The module's hyperparameters as saved by Lightning (untrusted: see
        :mod:`fashion_lit.checkpoints.hyperparameters`)."""
        hparams = self.contents.get("hyper_parameters") if self.is_lightning else None
        return dict(hparams) if isinstance(hparams, Mapping) else {}

    @property
    def val_acc(self) -> float | None:
        """The validation accuracy of the epoch the checkpoint was saved at, if recorded."""
        callbacks = self.contents.get("callbacks") if self.is_lightning else None
        for state in (callbacks or {}).values():
            if isinstance(state, Mapping) and state.get("monitor") == MONITOR:
                score = state.get("current_score")
                if isinstance(score, (Tensor, float, int)):
                    return float(score)
        return None

    def check_fits(self, model: nn.Module) -> None:
        """Raise :class:`ArchitectureMismatchError` unless the weights fit ``model`` (a
        LightningModule or the bare network)."""
        is_module = any(key.startswith(NET_PREFIX) for key in model.state_dict())
        state_dict = self.module_state_dict if is_module else self.network_state_dict
        check_state_dict_fits(state_dict, model, str(self.path))


def read(path: str | os.PathLike) -> Checkpoint:
    """Read ``path`` as a Lightning checkpoint or a state_dict, safely (see module docstring)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise CheckpointNotFoundError(
            f"{path}: no such file. Check the path, or train first."
        ) from error
    except OSError as error:
        raise CorruptCheckpointError(f"Cannot read {path}: {error.strerror}.") from error
    damage = zip_damage(data)
    if damage is not None:
        raise CorruptCheckpointError(corrupted(path, damage))
    try:
        with warnings.catch_warnings():  # e.g. about the pickle protocol of a raw pickle
            warnings.simplefilter("ignore")
            contents = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # any failure of the reader is the file's fault
        names = called_globals(data) if isinstance(error, pickle.UnpicklingError) else []
        if names:
            raise UnsafeCheckpointError(
                f"{path} refused: it would run code when loaded (its pickle calls "
                f"{', '.join(names[:3])}). fashion_lit reads checkpoints as data only "
                "(weights_only) and no option changes that. If you trust the file, load it "
                "in your own Python and save its state_dict() with torch.save."
            ) from error
        raise CorruptCheckpointError(corrupted(path)) from error
    if not isinstance(contents, Mapping):
        raise CorruptCheckpointError(
            f"{path} holds a {type(contents).__name__}, not a checkpoint or a state_dict."
        )
    try:
        contents = verified(contents)
    except DigestMismatchError as error:
        raise CorruptCheckpointError(corrupted(path, str(error))) from error
    checkpoint = Checkpoint(path, contents)
    if not checkpoint.is_lightning and not (
        contents and all(isinstance(value, Tensor) for value in contents.values())
    ):
        keys = ", ".join(map(str, list(contents)[:5])) or "none"
        raise CorruptCheckpointError(
            f"{path} is neither a Lightning checkpoint nor a state_dict of tensors (its keys: "
            f"{keys})."
        )
    return checkpoint


def corrupted(path: Path, detail: str | None = None) -> str:
    """The message for a file that cannot be read as a checkpoint."""
    because = f" ({detail})" if detail else ""
    return (
        f"{path} is corrupted or truncated, or not a checkpoint at all: it cannot be read"
        f"{because}. If a run was killed while saving it, use another checkpoint of the run; "
        "a whole pickled model is not accepted either (save model.state_dict())."
    )


#: The MS-DOS attribute bit of a folder, in a zip member's external attributes.
_DOS_FOLDER = 0x10


def zip_damage(data: bytes) -> str | None:
    """What is wrong with the zip archive ``data``, or None if it is intact or no zip.

    A member whose recorded CRC is 0 is not checked: ``torch.save`` records 0 when CRCs
    are turned off (``torch.serialization.set_crc32_options(False)``). A member marked as a
    folder by its MS-DOS attributes is damage: ``zipfile`` ignores that mark, but PyTorch's
    reader (miniz) then reads no data for it, and the tensor is garbage.
    """
    try:
        if not zipfile.is_zipfile(io.BytesIO(data)):
            return None  # PyTorch's legacy format, a truncated archive, or no archive at all
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if member.external_attr & _DOS_FOLDER:
                    return f"its zip archive is damaged: {member.filename} is marked as a folder"
                if member.CRC != 0:
                    with archive.open(member) as stream:
                        while stream.read(1 << 20):
                            pass
    except zipfile.BadZipFile as error:
        return f"{error}"
    except Exception as error:  # a malformed archive fails in many ways
        return f"its zip archive is damaged: {error}"
    return None


def called_globals(data: bytes) -> list[str]:
    """The functions and classes a checkpoint's pickle refers to, PyTorch's own excepted.

    Only whole pickles count: a name in a cut-off pickle is damage, not code.
    """
    if zip_damage(data) is None and zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [name for name in archive.namelist() if name.endswith("data.pkl")]
            data = archive.read(members[0]) if members else b""
    found: list[str] = []
    stream = io.BytesIO(data)
    while stream.tell() < len(data):  # PyTorch's legacy format holds several pickles
        names, strings = [], []
        try:
            for opcode, arg, _ in pickletools.genops(stream):
                if opcode.name in ("GLOBAL", "INST"):
                    names.append(str(arg).replace(" ", "."))
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    names.append(f"{strings[-2]}.{strings[-1]}")
                elif isinstance(arg, str):
                    strings.append(arg)
        except Exception:  # the rest is not a pickle
            break
        found += names
    own = ("torch.", "collections.OrderedDict")
    return [name for name in dict.fromkeys(found) if not name.startswith(own)]


def check_state_dict_fits(state_dict: Mapping[str, Tensor], model: nn.Module, source: str) -> None:
    """Raise ``ArchitectureMismatchError`` naming the first key (in the model's order) that
    does not fit ``model`` exactly; ``source`` names where the weights come from."""
    expected = model.state_dict()
    for key, tensor in expected.items():
        if key not in state_dict:
            problem = f"the model has {key} {_shape(tensor)}, which {source} lacks"
        elif not isinstance(state_dict[key], Tensor) or state_dict[key].shape != tensor.shape:
            problem = (
                f"{key} is {_shape(state_dict[key])} in {source} but {_shape(tensor)} in the model"
            )
        else:
            continue
        break
    else:
        unexpected = [key for key in state_dict if key not in expected]
        if not unexpected:
            return
        key = unexpected[0]
        problem = f"{source} has {key} {_shape(state_dict[key])}, which the model lacks"
    raise ArchitectureMismatchError(
        f"The weights do not fit the model: {problem}. They were saved from another "
        "network; configure the same model it was trained with (see config.yaml in its "
        "run folder), or use a checkpoint of this model."
    )


def _shape(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def load(
    spec: str | os.PathLike, root: str | os.PathLike = RUNS_ROOT, run: Path | None = None
) -> Checkpoint:
    """Resolve ``spec`` (``best``, ``last`` of ``run`` or the most recent run under
    ``root``, a path or a URL) and read it."""
    return read(resolve(spec, root, run))


@dataclass(frozen=True)
class LoadedNetwork:
    """A network ready for inference, and where its weights came from."""

    net: nn.Module  # weights loaded, in eval mode, on the CPU
    path: Path  # the file the weights were read from
    run_dir: Path | None  # the run folder of the checkpoint, if it is in one
    val_acc: float | None  # recorded with the checkpoint, if it was


def load_network(
    ckpt_path: str | os.PathLike, config: str | None = None, net: Any = None
) -> LoadedNetwork:
    """The network of anything ``predict --ckpt_path`` accepts, for the commands that use
    the network alone (``export``, ``serve``); with a training ``config``, ``best`` and
    ``last`` are looked for where it puts runs, as for ``test --config``.

    The network is the one ``net`` names (``--model.net``: a class path with its
    init_args), else the config's ``model.net``, else the one the checkpoint records if
    fashion_lit ships it (:data:`~fashion_lit.checkpoints.hyperparameters.TRUSTED`), else
    the tutorial's: a plain state_dict records none.
    """
    contents = read_config_file(config)
    checkpoint = load(ckpt_path, runs_root(contents), named_run(contents))
    given = net if net is not None else (contents.get("model") or {}).get("net")
    spec = given if given is not None else network_spec(checkpoint.hyperparameters.get("net"))
    network = build_network(spec)
    checkpoint.check_fits(network)
    network.load_state_dict(checkpoint.network_state_dict)
    network.eval()
    return LoadedNetwork(network, checkpoint.path, run_of(checkpoint.path), checkpoint.val_acc)


def add_network_option(parser: Any) -> None:
    """``--model.net`` on the parser of a command that loads the network alone, named as
    the training commands name it."""
    parser.add_argument(
        "--model.net",
        type=Optional[nn.Module],  # noqa: UP045 - a runtime type, which jsonargparse reads
        default=None,
        help="the network (class path and init_args) when --config and the checkpoint "
        "name none, as for fit",
    )


def build_network(spec: Any) -> nn.Module:
    """The network ``spec`` names (a class path, or a mapping with ``class_path`` and
    ``init_args``; None for the tutorial's), built as the CLI builds ``--model.net``."""
    if spec is None:
        return NeuralNetwork()
    from jsonargparse import ArgumentParser  # only for a network given by its class

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--net", type=nn.Module)
    try:
        return parser.instantiate(parser.parse_object({"net": spec})).net
    except Exception as error:  # the class or its arguments: the user's config is at fault
        message = f"model.net cannot be built from {spec!r}: {error}"
        raise ArchitectureMismatchError(message) from error
