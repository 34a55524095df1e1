"""The command line: ``python -m fashion_lit {fit,validate,test,predict} --config FILE``.

A LightningCLI with the project's defaults: a TensorBoard run folder per ``fit`` under
``lightning_logs/``, a ModelCheckpoint keeping ``last.ckpt`` and the best by ``val/acc``,
and ``--ckpt_path best|last`` resolved from the runs on disk, so that they also work in
a new process after ``fit``. ``--ckpt_path`` also takes a plain state_dict such as the
tutorial's ``model.pth`` (loaded as ``--model.weights``). ``python -m fashion_lit export``
is handed to :mod:`fashion_lit.export`: it maps to no Trainer method.

Checkpoints are written atomically and ``last.ckpt`` is also saved when Ctrl-C or
SIGTERM stops ``fit``. ``fit --ckpt_path`` with a checkpoint of a run folder resumes
that run in its own folder: its TensorBoard curves and checkpoints continue there, its
``config.yaml`` is kept, and the resumed invocation's config is saved next to it as
``config-resume-1.yaml`` (then ``-2``, ...). A ``--ckpt_path`` that is missing, not a
checkpoint, or of another network is refused before anything runs.
"""

import sys
from pathlib import Path
from typing import Any

from jsonargparse import Namespace
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from fashion_lit import export
from fashion_lit.checkpoints import (
    RUNS_ROOT,
    CheckpointError,
    check_exists,
    check_state_dict_fits,
    is_lightning_checkpoint,
    read_checkpoint,
    resolve_alias,
)
from fashion_lit.data import FashionMNISTDataModule
from fashion_lit.data.datamodule import PredictIndexError
from fashion_lit.evaluation_images import EvaluationImages
from fashion_lit.fault_tolerance import RunCheckpoint, clean_stop_on_signals
from fashion_lit.images import ImageError
from fashion_lit.module import ImageClassifier
from fashion_lit.prediction import PredictionWriter

PROG = "python -m fashion_lit"
PROGRESS_REFRESH_RATE = 20
SUBCOMMANDS = ("fit", "validate", "test", "predict")

TRAINER_DEFAULTS: dict[str, Any] = {
    "logger": {
        "class_path": "fashion_lit.logger.RunLogger",
        "init_args": {"save_dir": ".", "name": RUNS_ROOT, "log_graph": True},
    },
    "plugins": {"class_path": "fashion_lit.fault_tolerance.AtomicCheckpointIO"},
}


class FashionLitCLI(LightningCLI):
    """LightningCLI with a checkpoint callback, linked class count and on-disk aliases."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(RunCheckpoint, "checkpoint")
        parser.add_lightning_class_args(EvaluationImages, "evaluation_images")
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
        self.ckpt_state_dict: dict[str, Any] | None = None
        subcommand = self.config.get("subcommand")
        if subcommand is None:
            return
        config = self.config[subcommand]
        given = config.get("ckpt_path")
        if given is None or "://" in str(given):  # none, or remote: Lightning's own
            return
        try:
            if given in ("best", "last"):
                config.ckpt_path = str(resolve_alias(given, runs_root(config)))
            contents = read_checkpoint(check_exists(config.ckpt_path, runs_root(config)))
        except CheckpointError as error:
            parser.error(f"--ckpt_path {given}: {error}")
        if not is_lightning_checkpoint(contents):
            weights_from_state_dict(parser, config)
            return
        # Compared with the model once it is built (instantiate_classes).
        self.ckpt_state_dict = contents["state_dict"]
        self._continue_run(subcommand, config, Path(config.ckpt_path))

    def _continue_run(self, subcommand: str, config: Namespace, ckpt_path: Path) -> None:
        """Log into the run folder that the checkpoint belongs to, not a new empty one.

        The logger's ``version`` is set to that folder, so a resumed ``fit`` continues its
        curves and a ``validate``/``test``/``predict`` adds its results, images and
        predictions to the run they evaluate. The run's ``config.yaml`` describes how it
        started and is kept: a resumed fit saves its config as the first free
        ``config-resume-N.yaml``, an evaluation as ``config-<subcommand>.yaml`` (the
        latest one replacing the previous).
        """
        run = ckpt_path.parent.parent
        in_a_run = ckpt_path.parent.name == "checkpoints" and (
            run.parent.resolve() == runs_root(config).resolve()
        )
        logger = config.get("trainer.logger")
        init_args = logger.get("init_args") if isinstance(logger, Namespace) else None
        if not in_a_run or init_args is None or "version" not in init_args:
            return
        init_args.version = run.name
        if subcommand != "fit":
            self.save_config_kwargs.update(
                config_filename=f"config-{subcommand}.yaml", overwrite=True
            )
            return
        resume = 1
        while (run / f"config-resume-{resume}.yaml").exists():
            resume += 1
        self.save_config_kwargs["config_filename"] = f"config-resume-{resume}.yaml"

    def instantiate_classes(self) -> None:
        super().instantiate_classes()
        if self.ckpt_state_dict is not None:
            source = self.config[self.subcommand].ckpt_path
            try:
                check_state_dict_fits(self.ckpt_state_dict, self.model, source)
            except CheckpointError as error:
                self.parser.error(f"--ckpt_path {source}: {error}")

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The Trainer, with a progress bar that redraws every PROGRESS_REFRESH_RATE steps.

        Lightning's default bar redraws after every step, which costs more than a third
        of this small network's training time on a CPU. A bar given in
        ``trainer.callbacks``, or ``trainer.enable_progress_bar: false``, is respected.
        """
        trainer_config = self._get(self.config_init, "trainer", default={})
        callbacks = trainer_config.get("callbacks") or []
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        wants_bar = trainer_config.get("enable_progress_bar") is not False
        if wants_bar and not any(isinstance(c, ProgressBar) for c in callbacks):
            kwargs.setdefault("callbacks", [*callbacks, TQDMProgressBar(PROGRESS_REFRESH_RATE)])
        return super().instantiate_trainer(**kwargs)

    def fit(self, model: LightningModule, **kwargs: Any) -> None:
        """``trainer.fit``, stopping cleanly between two batches on Ctrl-C or SIGTERM."""
        with clean_stop_on_signals():
            self.trainer.fit(model, **kwargs)


def weights_from_state_dict(parser: LightningArgumentParser, config: Namespace) -> None:
    """Turn a plain state_dict given as ``--ckpt_path`` (the tutorial's ``model.pth``)
    into ``--model.weights``, since the Trainer restores Lightning checkpoints only."""
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
    if argv[:1] == ["serve"]:
        from fashion_lit.serve.command import main as serve_main  # LitServe only when serving

        serve_main(argv[1:])
        return None
    parser_kwargs: dict[str, Any] = {
        "prog": PROG,
        "description": "Train, evaluate and use the PyTorch Quickstart's FashionMNIST "
        "classifier with Lightning.",
        "epilog": f"{PROG} export --help: a checkpoint to the tutorial's model.pth and a "
        f"model.pt2 that runs without fashion_lit. {PROG} serve --help: the classifier as "
        "an HTTP service and a web page.",
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
    except (CheckpointError, ImageError, PredictIndexError) as error:
        sys.stderr.write(f"error: {error}\n")
        raise SystemExit(2) from error
