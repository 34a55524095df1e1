"""The command line: ``python -m fashion_lit {fit,validate,test,predict} --config FILE``.

A LightningCLI with the project's defaults: a TensorBoard run folder per ``fit`` under
``lightning_logs/``, the best checkpoints by ``val/acc`` and ``last.ckpt`` after every
epoch, and ``--ckpt_path best|last`` resolved from the runs on disk, so that they also work
in a new process after ``fit``. ``--ckpt_path`` also takes a URL and a plain state_dict
such as the tutorial's ``model.pth``. ``python -m fashion_lit export`` is handed to
:mod:`fashion_lit.export`: it maps to no Trainer method.

Checkpoints come through :mod:`fashion_lit.checkpoints`, read once and as data only; a
``--ckpt_path`` that is missing, damaged, holds code, or is of another network, and
hyperparameters in it that name foreign classes or files, are refused before anything
runs. ``fit --ckpt_path`` with a checkpoint of a run folder resumes that run in its own
folder: its TensorBoard curves and checkpoints continue there, its ``config.yaml`` is
kept, and the resumed invocation's config is saved next to it as
``config-resume-1.yaml`` (then ``-2``, ...). ``validate``, ``test`` and ``predict`` need
trained weights (``--ckpt_path`` or ``--model.weights``), unless ``--untrained true``
asks for the random ones. A command that fails leaves no new empty run folder behind.
"""

import gc
import shutil
import sys
from pathlib import Path
from typing import Any

from jsonargparse import Namespace
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import TensorBoardLogger

from fashion_lit import export
from fashion_lit.checkpoints import (
    RUNS_ROOT,
    Checkpoint,
    CheckpointError,
    LastCheckpoint,
    RunCheckpoint,
    hyperparameters_to_take,
    load,
    named_run,
    runs_root,
)
from fashion_lit.cuda_graph import CudaGraphUnsupportedError
from fashion_lit.data import DataNotFoundError, DataVerificationError, FashionMNISTDataModule
from fashion_lit.data.datamodule import PredictIndexError
from fashion_lit.evaluation_images import EvaluationImages
from fashion_lit.files import OutputError
from fashion_lit.images import ImageError
from fashion_lit.interrupts import clean_stop_on_signals
from fashion_lit.module import ImageClassifier
from fashion_lit.prediction import PredictionWriter
from fashion_lit.progress import StepLossProgressBar

PROG = "python -m fashion_lit"
SUBCOMMANDS = ("fit", "validate", "test", "predict")

TRAINER_DEFAULTS: dict[str, Any] = {
    "logger": {
        "class_path": "fashion_lit.logger.RunLogger",
        "init_args": {"save_dir": ".", "name": RUNS_ROOT, "log_graph": True},
    },
    "plugins": {"class_path": "fashion_lit.checkpoints.AtomicCheckpointIO"},
}

#: Errors in the user's input found while running (an image, a checkpoint's contents):
#: reported with their message and exit status 2, as a bad option is, not a traceback.
INPUT_ERRORS: tuple[type[Exception], ...] = (
    CheckpointError,
    CudaGraphUnsupportedError,
    DataNotFoundError,
    DataVerificationError,
    ImageError,
    OutputError,
    PredictIndexError,
)


class FashionLitCLI(LightningCLI):
    """LightningCLI with run checkpoints, on-disk aliases and safe checkpoint loading."""

    checkpoint: Checkpoint | None = None

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(RunCheckpoint, "checkpoint")
        parser.add_lightning_class_args(EvaluationImages, "evaluation_images")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/acc",
                "checkpoint.mode": "max",
                # Metric names hold a "/", which would otherwise open a subfolder.
                "checkpoint.filename": "epoch{epoch:02d}-val_acc{val/acc:.4f}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )
        parser.add_lightning_class_args(PredictionWriter, "prediction")
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.add_argument(
            "--untrained",
            type=bool,
            default=False,
            help="validate, test or predict with the untrained network's random weights "
            "(a smoke test); otherwise --ckpt_path or --model.weights is required.",
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse, then read ``--ckpt_path`` once, safely, and take only the checkpoint's
        allowed hyperparameters (see :mod:`fashion_lit.checkpoints.hyperparameters`).

        LightningCLI would copy all of them into the config after this method, re-reading
        the file; ``ckpt_path`` is therefore set aside here and put back in
        :meth:`before_instantiate_classes`, once that step has passed.
        """
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        if subcommand is None:
            return
        config = self.config[subcommand]
        if config.get("weights_only") is False:
            parser.error(
                "--weights_only false is refused: it would let a checkpoint run code when "
                "it is loaded. fashion_lit always loads checkpoints as data only."
            )
        spec = config.get("ckpt_path")
        if spec is None:
            if subcommand != "fit" and config.model.get("weights") is None and not config.untrained:
                parser.error(
                    f"{subcommand} needs trained weights: pass --ckpt_path best, last, a "
                    ".ckpt file or the tutorial's model.pth, or --model.weights FILE "
                    "(or --untrained true to use random weights, as a smoke test)."
                )
            return
        try:
            checkpoint = load(spec, runs_root(config), named_run(config))
        except CheckpointError as error:
            parser.error(f"--ckpt_path {spec}: {error}")
        config.ckpt_path = None
        if not checkpoint.is_lightning:
            if config.model.get("weights") is not None:
                parser.error(
                    f"--ckpt_path {spec} is a state_dict, and --model.weights "
                    f"{config.model.weights} is given too: give one of them."
                )
            self.checkpoint = checkpoint
            return
        given = given_model_keys(parser, args, subcommand)
        try:
            taken = hyperparameters_to_take(checkpoint.hyperparameters, given)
        except CheckpointError as error:
            parser.error(f"--ckpt_path {spec}: {error}")
        if taken:
            self.config = parser.parse_object({subcommand: {"model": taken}}, self.config)
        self.checkpoint = checkpoint
        self._continue_run(subcommand, self.config[subcommand], checkpoint.path)

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

    def before_instantiate_classes(self) -> None:
        if self.checkpoint is not None and self.checkpoint.is_lightning:
            # Absolute: Lightning downloads any path that starts with "http" (http_runs/…).
            self.config[self.subcommand].ckpt_path = str(self.checkpoint.path.resolve())

    def instantiate_classes(self) -> None:
        """Build the classes, then check the checkpoint's weights against the model (a
        plain state_dict is loaded into the network here: the Trainer restores Lightning
        checkpoints only)."""
        super().instantiate_classes()
        if self.checkpoint is None:
            return
        target = self.model if self.checkpoint.is_lightning else self.model.net
        try:
            self.checkpoint.check_fits(target)
        except CheckpointError as error:
            self.parser.error(f"--ckpt_path {self.checkpoint.path}: {error}")
        if not self.checkpoint.is_lightning:
            target.load_state_dict(self.checkpoint.network_state_dict)

    def _own(self, config: Namespace) -> Namespace:
        """The part of ``config`` that belongs to the subcommand being run."""
        return config[self.subcommand] if self.subcommand else config

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The Trainer, with fashion_lit's progress bar (:mod:`fashion_lit.progress`) and a
        :class:`LastCheckpoint` beside the run's :class:`RunCheckpoint`.

        A bar given in ``trainer.callbacks``, or ``trainer.enable_progress_bar: false``, is
        respected.
        ``last.ckpt`` is kept unless ``checkpoint.save_last: false``; its callback comes
        after the run's, so that ``trainer.checkpoint_callback`` is the best-by-metric one.
        """
        trainer_config = self._own(self.config_init).get("trainer") or {}
        callbacks = trainer_config.get("callbacks") or []
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        wants_bar = trainer_config.get("enable_progress_bar") is not False
        if wants_bar and not any(isinstance(c, ProgressBar) for c in callbacks):
            kwargs.setdefault("callbacks", [*callbacks, StepLossProgressBar()])
        trainer = super().instantiate_trainer(**kwargs)
        run_checkpoint = self._own(self.config_init).get("checkpoint")
        if (
            isinstance(run_checkpoint, RunCheckpoint)
            and run_checkpoint.keeps_last
            and trainer_config.get("enable_checkpointing") is not False
        ):
            trainer.callbacks.append(LastCheckpoint())
        return trainer

    def fit(self, model: LightningModule, **kwargs: Any) -> None:
        """``trainer.fit``, stopping cleanly between two batches on Ctrl-C or SIGTERM."""
        with clean_stop_on_signals():
            self._in_run_folder(self.trainer.fit, model, **kwargs)

    def validate(self, model: LightningModule, **kwargs: Any) -> None:
        self._in_run_folder(self.trainer.validate, model, **kwargs)

    def test(self, model: LightningModule, **kwargs: Any) -> None:
        self._in_run_folder(self.trainer.test, model, **kwargs)

    def predict(self, model: LightningModule, **kwargs: Any) -> None:
        self._in_run_folder(self.trainer.predict, model, **kwargs)

    def _in_run_folder(self, method: Any, model: LightningModule, **kwargs: Any) -> None:
        """Run a Trainer method, loading checkpoints as data only; if it fails, remove the
        run folder it created unless a checkpoint was saved there."""
        kwargs["weights_only"] = True
        logger = self.trainer.logger
        created = None
        if isinstance(logger, TensorBoardLogger) and self.trainer.is_global_zero:
            folder = Path(logger.log_dir)
            created = None if folder.exists() else folder
        try:
            method(model, **kwargs)
        except BaseException:
            if created is not None and created.is_dir() and not any(created.rglob("*.ckpt")):
                shutil.rmtree(created, ignore_errors=True)
            raise


def given_model_keys(parser: LightningArgumentParser, args: Any, subcommand: str) -> set[str]:
    """The ``model.*`` keys the user set on the command line or in a config file."""
    given = parser.parse_args(args, defaults=False)
    model = given.get(f"{subcommand}.model")
    return set(vars(model)) if isinstance(model, Namespace) else set()


def cli_main(args: list[str] | None = None, run: bool = True) -> FashionLitCLI | None:
    """Build the CLI (and run its subcommand): ``args=None`` reads ``sys.argv``.

    A bad input file found while running (an image, a checkpoint's contents) ends the
    command with its message and exit status 2, as a bad option does, not a traceback.
    """
    argv = sys.argv[1:] if args is None else args
    if argv[:1] == ["export"]:
        export.main(argv[1:])
        return None
    if argv[:1] == ["tune"]:
        from fashion_lit.tune.command import main as tune  # Optuna is imported by tune alone

        tune(argv[1:])
        return None
    if argv[:1] == ["serve"]:
        from fashion_lit.serve.command import main as serve_main  # the web stack only when serving

        serve_main(argv[1:])
        return None
    parser_kwargs: dict[str, Any] = {
        "prog": PROG,
        "description": "Train, evaluate and use the PyTorch Quickstart's FashionMNIST "
        "classifier with Lightning.",
        "epilog": f"{PROG} export --help: a checkpoint to the tutorial's model.pth and a "
        f"model.pt2 that runs without fashion_lit. {PROG} serve --help: the classifier as "
        f"an HTTP service and a web page. {PROG} tune --help: a hyperparameter search over "
        "any config key, with Optuna.",
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
    except INPUT_ERRORS as error:
        sys.stderr.write(f"error: {error}\n")
        raise SystemExit(2) from error


def main() -> None:
    """The ``fashion-lit`` console script and ``python -m fashion_lit``: exit status 0 on
    success (a console script exits with the status its function returns)."""
    cli_main()
    # The command is done and its files are closed; the process only has to exit. Python's
    # last garbage collections would walk every object that torch and Lightning created,
    # a second or more on a small CPU; frozen objects are left to the operating system.
    gc.freeze()
