"""The ``fit`` parser, with the search's config and options: one parse for every check.

Built by the command line itself (``cli_main(..., run=False)``), so the keys and values of
a search are checked, and each trial's configuration is written, by exactly the parser
that the trial's ``fit`` process uses, rather than by a list of keys kept by hand.
"""

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jsonargparse import Namespace

from fashion_lit.cli import cli_main

#: Lightning's loggers, which say "Seed set to 0", "GPU available: …" when the CLI is
#: built; these lines belong to each trial's log, not to tune's output.
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")


class FitParser:
    """Parses ``fit`` options on top of ``base_args`` (``--config FILE`` and options).

    Building it parses ``base_args`` and instantiates the model, data and trainer, as
    ``fit`` would, so a bad config is refused here, before any trial runs.
    """

    def __init__(self, base_args: list[str]) -> None:
        self.base_args = list(base_args)
        with _quiet_lightning(), warnings.catch_warnings():
            # Lightning warns when args are given while sys.argv holds tune's own.
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
            cli = cli_main(self.base_args, run=False)
        self._parser = cli.parser
        self._parser.exit_on_error = False  # errors are raised, for the caller to word
        self.base: Namespace = cli.config

    def parse(self, options: list[str]) -> Namespace:
        """The configuration of ``fit`` with ``options`` after the base arguments."""
        return self._parser.parse_args([*self.base_args, *options])

    def dump(self, options: list[str]) -> str:
        """That configuration as a YAML file that ``fit --config`` takes."""
        # Every key, None ones too, as in the config.yaml that Lightning writes for a run.
        return self._parser.dump(self.parse(options), skip_unset=False)

    @property
    def seed(self) -> Any:
        """The base config's ``seed_everything``: a number, or true/false."""
        return self.base.get("seed_everything")


@contextmanager
def _quiet_lightning() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
