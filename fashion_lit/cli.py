"""The command line: ``python -m fashion_lit {fit,validate,test,predict} --config FILE``.

A LightningCLI with the project's defaults: a TensorBoard run folder per ``fit`` under
``lightning_logs/``, a ModelCheckpoint keeping ``last.ckpt`` and the best by ``val/acc``,
and ``--ckpt_path best|last`` resolved from the runs on disk, so that they also work in
a new process after ``fit``. ``--ckpt_path`` also takes a plain state_dict such as the
tutorial's ``model.pth`` (loaded as ``--model.weights``). ``python -m fashion_lit export``
is handed to :mod:`fashion_lit.export`: it maps to no Trainer method.
"""

import sys
from pathlib import Path
from typing import Any

from jsonargparse import Namespace
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from fashion_lit import export
from fashion_lit.checkpoints import RUNS_ROOT, CheckpointNotFoundError, resolve_alias
from fashion_lit.data import FashionMNISTDataModule
from fashion_lit.images import ImageError
from fashion_lit.module import ImageClassifier
from fashion_lit.prediction import PredictionWriter
from fashion_lit.weights import CheckpointError, is_lightning_checkpoint, read_checkpoint

PROG = "python -m fashion_lit"
SUBCOMMANDS = ("fit", "validate", "test", "predict")

TRAINER_DEFAULTS: dict[str, Any] = {
    "logger": {
        "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
        # No hp_metric placeholder: the real metrics are logged under their own names.
        "init_args": {"save_dir": ".", "name": RUNS_ROOT, "default_hp_metric": False},
    },
}


class FashionLitCLI(LightningCLI):
    """LightningCLI with a checkpoint callback, linked class count and on-disk aliases."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/acc",
                "checkpoint.mode": "max",
                "checkpoint.save_last": True,
                # Metric names hold a "/", which would otherwise open a subfolder.
                "checkpoint.filename": "epoch{epoch:02d}-val_acc{val/acc:.4f}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )
        parser.add_lightning_class_args(PredictionWriter, "prediction")
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        if subcommand is None:
            return
        config = self.config[subcommand]
        alias = config.get("ckpt_path")
        if alias in ("best", "last"):
            try:
                config.ckpt_path = str(resolve_alias(alias, runs_root(config)))
            except CheckpointNotFoundError as error:
                parser.error(f"--ckpt_path {alias}: {error}")
        if config.get("ckpt_path") and "://" not in config.ckpt_path:  # remote: Lightning's
            weights_from_state_dict(parser, config)


def weights_from_state_dict(parser: LightningArgumentParser, config: Namespace) -> None:
    """Read ``--ckpt_path``; a plain state_dict (the tutorial's ``model.pth``) becomes
    ``--model.weights``, since the Trainer restores Lightning checkpoints only."""
    try:
        contents = read_checkpoint(config.ckpt_path)
    except CheckpointError as error:
        parser.error(f"--ckpt_path: {error}")
    if is_lightning_checkpoint(contents):
        return
    if config.model.get("weights") is not None:
        parser.error(
            f"--ckpt_path {config.ckpt_path} is a state_dict, and --model.weights "
            f"{config.model.weights} is given too: give one of them."
        )
    config.model.weights, config.ckpt_path = config.ckpt_path, None


def runs_root(config: Namespace) -> Path:
    """The folder holding the run folders, as the configured logger lays them out."""
    trainer = config.get("trainer") or Namespace()
    logger = trainer.get("logger")
    init_args = logger.get("init_args") if isinstance(logger, Namespace) else None
    if init_args is not None and init_args.get("save_dir") is not None:
        return Path(init_args.save_dir) / (init_args.get("name") or "")
    return Path(trainer.get("default_root_dir") or ".") / RUNS_ROOT


def cli_main(args: list[str] | None = None, run: bool = True) -> FashionLitCLI | None:
    """Build the CLI (and run its subcommand): ``args=None`` reads ``sys.argv``.

    A bad input file found while running (an image, a checkpoint's contents) ends the
    command with its message and exit status 2, as a bad option does, not a traceback.
    """
    argv = sys.argv[1:] if args is None else args
    if argv[:1] == ["export"]:
        export.main(argv[1:])
        return None
    parser_kwargs: dict[str, Any] = {
        "prog": PROG,
        "description": "Train, evaluate and use the PyTorch Quickstart's FashionMNIST "
        "classifier with Lightning.",
        "epilog": f"{PROG} export --help: a checkpoint to the tutorial's model.pth and a "
        "model.pt2 that runs without fashion_lit.",
        "allow_abbrev": False,
    }
    try:
        return FashionLitCLI(
            ImageClassifier,
            FashionMNISTDataModule,
            args=args,
            run=run,
            # The optimizer is the model's own argument (model.optimizer), saved with its
            # hyperparameters; Lightning's separate top-level group would be a second way.
            auto_configure_optimizers=False,
            seed_everything_default=0,
            trainer_defaults=TRAINER_DEFAULTS,
            parser_kwargs={
                **parser_kwargs,
                **{name: {"allow_abbrev": False} for name in SUBCOMMANDS},
            },
        )
    except (CheckpointError, ImageError) as error:
        sys.stderr.write(f"error: {error}\n")
        raise SystemExit(2) from error
