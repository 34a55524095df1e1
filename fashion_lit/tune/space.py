"""The search space of ``python -m fashion_lit tune``: config keys and their ranges, in YAML.

A search file (``configs/search.yaml``) names each searched option of ``fit`` by its
dotted key, as on the command line, and gives its range as the arguments of Optuna's
``trial.suggest_<type>``::

    params:
      model.lr_scheduler.init_args.max_lr: {type: float, low: 0.01, high: 0.5, log: true}
      model.label_smoothing: {type: float, low: 0.0, high: 0.2}
      data.batch_size: {type: categorical, choices: [64, 128, 256]}
    sampler: {class_path: optuna.samplers.TPESampler, init_args: {n_startup_trials: 6}}
    pruner: {class_path: optuna.pruners.MedianPruner, init_args: {n_warmup_steps: 5}}

``sampler`` and ``pruner`` are optional (``TPESampler()``, ``MedianPruner()``) and take
any class by class path. Before a trial runs, the layout is checked by jsonargparse, each
range by Optuna's distribution classes, and each key with its ends or choices by the real
``fit`` parser, so a misspelled or unused key or a wrongly typed value is refused, named.
"""

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from jsonargparse import ArgumentError, ArgumentParser, Namespace
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler

#: The ``type`` of a range, and the distribution that checks its arguments; the trial
#: samples it with ``trial.suggest_<type>``, which takes the same arguments.
DISTRIBUTIONS: dict[str, type[BaseDistribution]] = {
    "float": FloatDistribution,
    "int": IntDistribution,
    "categorical": CategoricalDistribution,
}
#: Keys that ``tune`` sets itself for every trial, so a search may not.
RESERVED_KEYS = ("seed_everything", "trainer.logger")


class SearchSpaceError(ValueError):
    """A search file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class SearchSpace:
    """What ``tune`` searches and how: ranges by config key, a sampler and a pruner."""

    source: Path  # the search file
    params: dict[str, dict[str, Any]]  # ``trial.suggest_<type>``'s arguments, and ``type``
    sampler: BaseSampler
    pruner: BasePruner
    pruner_spec: dict[str, Any]  # its class path and arguments, for each trial's ``fit``
    sampler_spec: dict[str, Any]  # its class path and arguments, to seed it

    def seeded_sampler(self, seed: int) -> BaseSampler:
        """The search file's sampler with ``seed`` (its own ``seed``, if any, replaced)."""
        init_args = {**(self.sampler_spec.get("init_args") or {}), "seed": seed}
        parser = ArgumentParser(exit_on_error=False)
        parser.add_argument("--sampler", type=BaseSampler)
        try:
            config = parser.parse_object({"sampler": {**self.sampler_spec, "init_args": init_args}})
            return parser.instantiate(config).sampler
        except Exception:  # jsonargparse's ArgumentError: the class takes no seed
            class_path = self.sampler_spec["class_path"]
            raise SearchSpaceError(
                f"{self.source}: sampler: {class_path} takes no seed, so --seed cannot apply."
            ) from None

    def starting_values(self, config: Namespace) -> dict[str, Any]:
        """The values that ``config`` (the search's starting config) gives the searched
        keys, those within their ranges: the search's first trial."""
        values = {}
        for key, spec in self.params.items():
            value = config.get(key)
            distribution = DISTRIBUTIONS[spec["type"]](**_arguments(spec))
            if isinstance(distribution, CategoricalDistribution):
                inside = value in distribution.choices
            else:
                number = isinstance(value, int | float) and not isinstance(value, bool)
                inside = number and distribution.low <= value <= distribution.high
            if inside:
                values[key] = value
        return values

    def suggest(self, trial: optuna.trial.BaseTrial) -> dict[str, Any]:
        """Sample the value of every key for ``trial``."""
        return {
            key: getattr(trial, f"suggest_{spec['type']}")(key, **_arguments(spec))
            for key, spec in self.params.items()
        }

    def check_keys(self, parse: Callable[[list[str]], Namespace]) -> None:
        """Refuse a key that ``parse`` (the ``fit`` parser with the search's config and
        options) rejects with the value at either end of its range or any of its choices."""
        for key, spec in self.params.items():
            if any(key == reserved or key.startswith(f"{reserved}.") for reserved in RESERVED_KEYS):
                raise self.error(key, "is set by tune for every trial; it cannot be searched.")
            ends = spec["choices"] if spec["type"] == "categorical" else [spec["low"], spec["high"]]
            for value in ends:
                (option,) = as_options({key: value})
                try:
                    parse([option])
                except ArgumentError as error:
                    raise self.error(key, f"fit refuses {option}: {error}") from None

    def error(self, key: str, message: str) -> SearchSpaceError:
        return SearchSpaceError(f"{self.source}: params: {key}: {message}")


def as_options(values: Mapping[str, Any]) -> list[str]:
    """``--key=value`` options of ``fit``, as a shell would pass them.

    Numbers, booleans and lists are written as JSON, which the parser reads as YAML; text
    as it is, since quotes would become part of a ``str`` option's value.
    """
    return [
        f"--{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in values.items()
    ]


def read_search_space(path: str | Path) -> SearchSpace:
    """Read and check a search file; raise :class:`SearchSpaceError` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise SearchSpaceError(f"--search {path}: no such file.")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--params", type=dict[str, Any], required=True)
    parser.add_argument(
        "--sampler", type=BaseSampler, default={"class_path": "optuna.samplers.TPESampler"}
    )
    parser.add_argument(
        "--pruner", type=BasePruner, default={"class_path": "optuna.pruners.MedianPruner"}
    )
    try:
        config = parser.parse_path(path)
        objects = parser.instantiate(config)
    except Exception as error:  # jsonargparse's ArgumentError, or a class's own check
        raise SearchSpaceError(f"{path}: {error}") from None
    space = SearchSpace(
        source=path,
        params=dict(config.params),
        sampler=objects.sampler,
        pruner=objects.pruner,
        pruner_spec=config.pruner.as_dict(),
        sampler_spec=config.sampler.as_dict(),
    )
    if not space.params:
        raise SearchSpaceError(f"{path}: params: give at least one key to search.")
    for key, spec in space.params.items():
        _check_range(space, key, spec)
    return space


def _check_range(space: SearchSpace, key: str, spec: Any) -> None:
    kinds = ", ".join(DISTRIBUTIONS)
    if not isinstance(spec, Mapping):
        raise space.error(
            key, f"give a mapping such as {{type: float, low: 0.0, high: 0.2}}, not {spec!r}."
        )
    kind = spec.get("type")
    if kind not in DISTRIBUTIONS:
        raise space.error(key, f"type: {kind!r} is not one of {kinds}.")
    distribution = DISTRIBUTIONS[kind]
    arguments = _arguments(spec)
    for name in ("low", "high", "step"):
        value = arguments.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise space.error(key, f"{name}: {value!r} is not a number.")
    try:
        distribution(**arguments)
    except TypeError:
        accepted = ", ".join(inspect.signature(distribution).parameters)
        given = ", ".join(arguments) or "nothing"
        raise space.error(key, f"a {kind} range takes {accepted} (got {given}).") from None
    except ValueError as error:
        raise space.error(key, str(error)) from None


def _arguments(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in spec.items() if name != "type"}
