"""Which of a checkpoint's stored hyperparameters the CLI takes, and which it refuses.

LightningCLI copies a checkpoint's ``hyper_parameters`` into the configuration, which is
convenient (``test --ckpt_path X`` gets the run's network and settings) and dangerous: a
checkpoint is a file anyone can send, and jsonargparse imports every ``class_path`` it is
given, and every dotted string given to a parameter that takes a callable. So a value is
taken only if its key is a parameter of the model (read from its signature: no table to
keep), and wherever its type could name code — a class, a callable, a module, ``Any`` or
no annotation, at any depth — the value names none but a class of :data:`TRUSTED` or
one the user gave in this invocation. Anything else is refused before anything is
imported, naming the key and the option to use. A key the user gives is not taken.
"""

import inspect
import types
import typing
from collections.abc import Collection, Mapping
from importlib import import_module
from typing import Any

import torch
from torch import nn

from fashion_lit.checkpoints.errors import ForbiddenHyperparameterError
from fashion_lit.cnn import CNN
from fashion_lit.network import NeuralNetwork


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _classes_in(module: types.ModuleType, base: type) -> set[str]:
    """The subclasses of ``base`` in ``module``, by both their paths: the public one
    (``torch.optim.SGD``, as configs write it) and their own (``torch.optim.sgd.SGD``)."""
    found = {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, base) and value is not base
    }
    return {f"{module.__name__}.{name}" for name in found} | set(map(class_path, found.values()))


#: The classes a checkpoint may name: the networks fashion_lit ships, PyTorch's optimizers
#: and learning-rate schedules. The one list: export, serve and the CLI all ask it.
TRUSTED: frozenset[str] = frozenset(
    {class_path(NeuralNetwork), class_path(CNN)}
    | _classes_in(torch.optim, torch.optim.Optimizer)
    | _classes_in(torch.optim.lr_scheduler, torch.optim.lr_scheduler.LRScheduler)
)
#: Lightning's bookkeeping: the model's class (checked), and its instantiation function.
CLASS_KEY, IGNORED_KEYS = "_class_path", ("_instantiator",)
#: The type of the model's ``net`` parameter, for networks read without the model.
NETWORK_HINT = nn.Module | None
_PLAIN = (bool, int, float, str, type(None))
_UNIONS = (typing.Union, types.UnionType)


def hyperparameters_to_take(
    hparams: Mapping[str, Any], given: Collection[str], user_classes: Collection[str] = ()
) -> dict[str, Any]:
    """The checkpoint's hyperparameters that may enter the configuration.

    Args:
        hparams: the checkpoint's ``hyper_parameters``.
        given: the model keys that the user set on the command line or in a config file;
            these are neither taken nor checked.
        user_classes: the class paths the user named in this invocation, trusted too.

    Raises:
        ForbiddenHyperparameterError: naming the first value that may not be taken.
    """
    from fashion_lit.module import ImageClassifier  # Lightning: only where the model is built

    parameters = inspect.signature(ImageClassifier).parameters
    model_class = class_path(ImageClassifier)
    trusted = TRUSTED | set(user_classes)
    taken: dict[str, Any] = {}
    for key, value in hparams.items():
        if key in IGNORED_KEYS or key in given:
            continue
        if key == CLASS_KEY:
            if value != model_class:
                raise _refused(f"model.{key}", value, f"the model class is {model_class}")
            continue
        if key not in parameters:
            raise _refused(f"model.{key}", value, "the model has no such parameter")
        _check(f"model.{key}", value, _hint(ImageClassifier, key), trusted)
        taken[key] = value
    return taken


def network_spec(spec: Any, user_classes: Collection[str] = ()) -> Any:
    """``spec``, a network's class path and init args read from a checkpoint, once checked
    as :func:`hyperparameters_to_take` checks ``model.net``."""
    _check("model.net", spec, NETWORK_HINT, TRUSTED | set(user_classes))
    return spec


def user_class_paths(node: Any) -> set[str]:
    """Every ``class_path`` in a configuration (a mapping or a Namespace), at any depth."""
    items = vars(node).items() if hasattr(node, "__dict__") else None
    if isinstance(node, Mapping):
        items = node.items()
    if items is not None:
        found = {value for key, value in items if key == "class_path" and isinstance(value, str)}
        return found.union(*(user_class_paths(value) for _, value in items))
    if isinstance(node, (list, tuple)):
        return set().union(*map(user_class_paths, node))
    return set()


def _check(key: str, value: Any, hint: Any, trusted: set[str]) -> None:
    """Refuse ``value`` if, where its type ``hint`` could name code, it names an untrusted
    class or a dotted name of any kind."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(f"{key}[{i}]", item, _item_hint(hint), trusted)
    elif isinstance(value, Mapping):
        if "class_path" not in value:
            if not _plain(hint):
                raise _refused(key, value, "it must be a class_path with its init_args")
            for name, item in value.items():
                _check(f"{key}.{name}", item, Any, trusted)
            return
        path = value["class_path"]
        if path not in trusted or set(value) - {"class_path", "init_args", "dict_kwargs"}:
            raise _refused(key, path, "a checkpoint may only name classes fashion_lit ships")
        cls = _load(path)
        for part in ("init_args", "dict_kwargs"):
            for name, item in (value.get(part) or {}).items():
                _check(f"{key}.{part}.{name}", item, _hint(cls, name), trusted)
    elif not isinstance(value, _PLAIN):
        raise _refused(key, value, "a checkpoint may only hold plain values")
    elif _plain(hint):
        if not _accepts(hint, value):
            raise _refused(key, value, f"the parameter takes {_name(hint)}")
    elif isinstance(value, str) and value not in trusted:
        raise _refused(key, value, "its type can name code, and this names no class it may")


def _plain(hint: Any) -> bool:
    """Whether a parameter of type ``hint`` can only take data, never name code."""
    if hint in _PLAIN or typing.get_origin(hint) is typing.Literal:
        return True
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    containers = (list, tuple, dict, typing.Union, types.UnionType, Collection)
    return bool(args) and origin in containers and all(map(_plain, args))


def _accepts(hint: Any, value: Any) -> bool:
    """Whether a value of a plain type fits the plain type ``hint`` (an int fits a float)."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin in _UNIONS:
        return any(_accepts(option, value) for option in typing.get_args(hint))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin or hint)


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _item_hint(hint: Any) -> Any:
    """The type of the items of a list- or tuple-typed parameter (else the parameter's own)."""
    options = typing.get_args(hint) if typing.get_origin(hint) in _UNIONS else (hint,)
    for option in options:
        if typing.get_origin(option) in (list, tuple) and typing.get_args(option):
            return typing.get_args(option)[0]
    return hint


def _hint(cls: type, name: str) -> Any:
    """The type of parameter ``name`` of ``cls``; ``Any`` when it cannot be read."""
    try:
        return typing.get_type_hints(cls.__init__).get(name, Any)
    except Exception:  # annotations that do not resolve: as unknown as Any
        return Any


def _load(path: str) -> type:
    """A class of :data:`TRUSTED` or one the user named (so importing it runs nothing new)."""
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def _refused(key: str, value: Any, reason: str) -> ForbiddenHyperparameterError:
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    option = key.split("[")[0].split(".init_args")[0].split(".dict_kwargs")[0]
    return ForbiddenHyperparameterError(
        f"the checkpoint's hyperparameter {key} = {shown} is refused: {reason}. "
        f"Give --{option} yourself (on the command line or in --config) to use this "
        "checkpoint anyway; a value you give is never taken from the checkpoint."
    )
