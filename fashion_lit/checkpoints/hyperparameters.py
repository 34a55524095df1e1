"""Which of a checkpoint's stored hyperparameters the CLI takes, and which it refuses.

LightningCLI copies a checkpoint's ``hyper_parameters`` into the configuration, which is
convenient (``test --ckpt_path X`` gets the run's settings) and dangerous: a checkpoint
is a file anyone can send, and a ``class_path`` in it would be imported. So only plain
values of known keys, and ``torch.optim`` optimizers and schedules or the tutorial's
network with plain arguments (no paths) are taken; anything else is refused, naming the
key, before anything is imported. A key the user gives is not taken nor checked: how to
use a checkpoint trained with a class of one's own (``--model.optimizer my.Optimizer``).
"""

from collections.abc import Collection, Mapping
from typing import Any

import torch

from fashion_lit.checkpoints.errors import ForbiddenHyperparameterError
from fashion_lit.module import ImageClassifier
from fashion_lit.network import NeuralNetwork

#: Keys with a plain value, and the type it must have.
PLAIN_KEYS: dict[str, type] = {
    "num_classes": int,
    "label_smoothing": float,
    "compile": bool,
    "cuda_graph": bool,
}
#: Lightning's own bookkeeping (the name of its instantiation function): never used.
IGNORED_KEYS = ("_instantiator",)
MODULE_CLASS = f"{ImageClassifier.__module__}.{ImageClassifier.__qualname__}"


def _classes_in(module: Any, base: type) -> frozenset[str]:
    return frozenset(
        f"{module.__name__}.{name}"
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, base) and value is not base
    )


#: Keys with a class spec, and the classes it may name.
CLASS_KEYS: dict[str, frozenset[str]] = {
    "optimizer": _classes_in(torch.optim, torch.optim.Optimizer),
    "lr_scheduler": _classes_in(torch.optim.lr_scheduler, torch.optim.lr_scheduler.LRScheduler),
    "net": frozenset({f"{NeuralNetwork.__module__}.{NeuralNetwork.__qualname__}"}),
}


def hyperparameters_to_take(hparams: Mapping[str, Any], given: Collection[str]) -> dict[str, Any]:
    """The checkpoint's hyperparameters that may enter the configuration.

    Args:
        hparams: the checkpoint's ``hyper_parameters``.
        given: the model keys (``optimizer``, ``label_smoothing``, ...) that the user set
            on the command line or in a config file; these are neither taken nor checked.

    Raises:
        ForbiddenHyperparameterError: naming the first key that may not be taken.
    """
    taken: dict[str, Any] = {}
    for key, value in hparams.items():
        if key in IGNORED_KEYS or key in given:
            continue
        if key == "_class_path":
            if value != MODULE_CLASS:
                raise _refused(key, value, f"the model class is {MODULE_CLASS}")
            continue
        if key in PLAIN_KEYS:
            if not _is_plain_of_type(value, PLAIN_KEYS[key]):
                raise _refused(key, value, f"it must be a {PLAIN_KEYS[key].__name__}")
        elif key in CLASS_KEYS:
            _check_class_spec(key, value)
        else:
            raise _refused(key, value, "fashion_lit takes no such hyperparameter from a checkpoint")
        taken[key] = value
    return taken


def _is_plain_of_type(value: Any, expected: type) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float) if expected is float else expected)


def _check_class_spec(key: str, value: Any) -> None:
    if value is None and key == "lr_scheduler":
        return
    spec = {"class_path": value} if isinstance(value, str) else value
    if not isinstance(spec, Mapping) or not isinstance(spec.get("class_path"), str):
        raise _refused(key, value, "it must be a class_path with its init_args")
    if spec["class_path"] not in CLASS_KEYS[key]:
        raise _refused(
            key, spec["class_path"], f"a checkpoint may only name {_kinds_of(key)} there"
        )
    init_args = spec.get("init_args") or {}
    if not isinstance(init_args, Mapping) or set(spec) - {"class_path", "init_args"}:
        raise _refused(key, value, "it must be a class_path with its init_args")
    for name, argument in init_args.items():
        if not _is_plain_argument(argument):
            raise _refused(
                f"{key}.init_args.{name}",
                argument,
                "arguments taken from a checkpoint must be numbers, booleans or words, "
                "not paths or objects",
            )


def _kinds_of(key: str) -> str:
    return {
        "optimizer": "torch.optim optimizers",
        "lr_scheduler": "torch.optim.lr_scheduler schedules",
        "net": "fashion_lit's NeuralNetwork",
    }[key]


def _is_plain_argument(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return not any(mark in value for mark in ("/", "\\", "~", ":")) and value not in (".", "..")
    if isinstance(value, (list, tuple)):
        return all(_is_plain_argument(item) for item in value)
    return False


def _refused(key: str, value: Any, reason: str) -> ForbiddenHyperparameterError:
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return ForbiddenHyperparameterError(
        f"the checkpoint's hyperparameter model.{key} = {shown} is refused: {reason}. "
        f"Give --model.{key} yourself (on the command line or in --config) to use this "
        "checkpoint anyway; a value you give is never taken from the checkpoint."
    )
