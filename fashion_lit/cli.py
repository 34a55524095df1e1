"""The Lightning commands: ``python -m fashion_lit {fit,validate,test,predict} --config FILE``.

A LightningCLI with the project's defaults: a run folder of its own per ``fit``
(:mod:`fashion_lit.runs`), the best checkpoints by ``val/acc`` and ``last.ckpt`` after
every epoch, and ``--ckpt_path`` resolved once (:mod:`fashion_lit.checkpoints.request`):
``best``/``last`` from the runs on disk, a path, a URL, or a plain state_dict such as the
tutorial's ``model.pth``. A checkpoint that is missing, damaged, holds code, is of another
network or names foreign classes is refused before anything runs. A command with a run's
checkpoint continues that run's folder; one that fails leaves no folder of its own behind.
"""

import json
import shutil
import sys
import threading
from argparse import SUPPRESS
from pathlib import Path
from typing import Any, NoReturn

from jsonargparse import Namespace
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback, ModelSummary, ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only
from torch.distributed import DistError

from fashion_lit.callbacks.checkpoints import LastCheckpoint, RunCheckpoint
from fashion_lit.callbacks.evaluation_images import EvaluationImages
from fashion_lit.callbacks.prediction_writer import PredictionWriter
from fashion_lit.callbacks.progress import StepLossProgressBar
from fashion_lit.callbacks.run_config import RunConfig
from fashion_lit.callbacks.summary import NetworkSummary
from fashion_lit.checkpoints import CheckpointError
from fashion_lit.checkpoints.reading import Checkpoint, load
from fashion_lit.checkpoints.request import CheckpointRequest, request_checkpoint
from fashion_lit.checkpoints.saving import AtomicCheckpointIO
from fashion_lit.console import quiet_third_party
from fashion_lit.data import DataNotFoundError, DataVerificationError, FashionMNISTDataModule
from fashion_lit.data.datamodule import PredictIndexError
from fashion_lit.images import ImageError
from fashion_lit.interrupts import clean_stop_on_signals
from fashion_lit.io.files import (
    NO_ROOM,
    OutputError,
    file_being_written,
    no_space_error,
    replaced_atomically,
)
from fashion_lit.loggers import RunLogger
from fashion_lit.metrics import MONITOR
from fashion_lit.module import ImageClassifier, ScheduleLengthError
from fashion_lit.nodes import (
    across_nodes,
    distributed_strategy,
    lost_nodes,
    one_node_for_evaluation,
)
from fashion_lit.parser import ShortErrors
from fashion_lit.profiler import NoProfiler
from fashion_lit.run_report import end_of_run, unbounded_training
from fashion_lit.runs import (
    CHECKPOINTS,
    RUNS_ROOT,
    TEST_RESULTS,
    claim_run,
    config_file_name,
    has_run_folders,
    holds_a_run,
    runs_root,
)
from fashion_lit.steps import StepUnsupportedError

PROG = "python -m fashion_lit"
SUBCOMMANDS = ("fit", "validate", "test", "predict")

TRAINER_DEFAULTS: dict[str, Any] = {
    # The tutorial's 5 epochs: without a config, fit is the quickstart (Lightning's own
    # default would train for up to 1,000 epochs).
    "max_epochs": 5,
    "logger": {
        "class_path": f"{RunLogger.__module__}.{RunLogger.__qualname__}",
        # The graph costs a torch.jit trace that warns of its deprecation on every command;
        # log_graph: true draws it in TensorBoard's GRAPHS tab (README, "Graphs").
        "init_args": {"save_dir": ".", "name": RUNS_ROOT, "log_graph": False},
    },
    "plugins": {"class_path": f"{AtomicCheckpointIO.__module__}.{AtomicCheckpointIO.__qualname__}"},
}

#: Errors in the user's input found while running (an image, a checkpoint's contents):
#: reported with their message and exit status 2, as a bad option is, not a traceback.
INPUT_ERRORS: tuple[type[Exception], ...] = (
    CheckpointError,
    DataNotFoundError,
    DataVerificationError,
    ImageError,
    OutputError,
    PredictIndexError,
    ScheduleLengthError,
    StepUnsupportedError,  # the CUDA-graph step's refusals among them
)

#: The option that loaded a plain state_dict before ``--ckpt_path`` took every kind of
#: file. Still parsed, so that the configs that runs saved with ``weights: null`` load.
RETIRED_WEIGHTS = "--model.weights"


#: The options that only some commands take: fit trains (no --untrained, no
#: --prediction.*), validate and test write no predictions, only fit tests after itself.
#: The other commands read them hidden, since a run's saved config may hold them.
COMMAND_OPTIONS = {
    "fit": {"test_after_fit"},
    "validate": {"untrained"},
    "test": {"untrained"},
    "predict": {"untrained", "prediction"},
}


class FashionLitParser(ShortErrors, LightningArgumentParser):
    """Lightning's parser with short errors (:mod:`fashion_lit.parser`), told which
    command it parses, so that a command's help lists only the options it takes."""

    def __init__(self, *args: Any, command: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command = command

    def add_method_arguments(self, class_type: type, method_name: str, **kwargs: Any) -> list[str]:
        """The Trainer method's options, less ``weights_only``: fashion_lit always loads
        checkpoints as data only, so the option stays hidden, parsed only to refuse
        ``false`` with the reason."""
        kwargs["skip"] = {*(kwargs.get("skip") or ()), "weights_only"}
        added = super().add_method_arguments(class_type, method_name, **kwargs)
        self.add_argument("--weights_only", type=bool | None, default=None, help=SUPPRESS)
        return added


class FashionLitCLI(LightningCLI):
    """LightningCLI with run folders of its own, on-disk aliases and safe checkpoint loading."""

    request: CheckpointRequest | None = None
    #: The outermost folder this process created for its run (the run's, or the folder of
    #: the runs too), removed if the command fails before a checkpoint, or writes nothing.
    created: Path | None = None
    #: The logger options whose version was set to a claimed folder, and the version given.
    claimed: tuple[Namespace, Any] | None = None
    #: The command's run folder (None on DDP ranks other than 0, which Lightning tells).
    run_dir: Path | None = None
    #: Whether the logger keeps runs in folders of its own (TensorBoard's, CSV's).
    logger_has_folders = True

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        takes = COMMAND_OPTIONS.get(getattr(parser, "command", None), set())
        parser.add_lightning_class_args(RunCheckpoint, "checkpoint")
        parser.add_lightning_class_args(EvaluationImages, "evaluation_images")
        parser.set_defaults(
            {
                "checkpoint.monitor": MONITOR,
                "checkpoint.mode": "max",
                # Metric names hold a "/", which would otherwise open a subfolder.
                "checkpoint.filename": "epoch{epoch:02d}-val_acc{val/acc:.4f}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )
        if "prediction" in takes:
            parser.add_lightning_class_args(PredictionWriter, "prediction")
        else:  # read and ignored: the config.yaml of earlier fits holds them
            parser.add_argument("--prediction", type=dict | None, default=None, help=SUPPRESS)
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        for flag, about in (
            ("untrained", "use the untrained network's random weights (a smoke test); "
             "otherwise --ckpt_path is required."),
            ("test_after_fit", "then test the run's best checkpoint (by val/acc) in the same "
             f"process, as `test --ckpt_path best` would; its results go to {TEST_RESULTS} "
             "and its config to config-test.yaml in the run folder."),
        ):  # fmt: skip
            help_text = about if flag in takes else SUPPRESS  # hidden: read, not offered
            parser.add_argument(f"--{flag}", type=bool, default=False, help=help_text)
        parser.add_argument(RETIRED_WEIGHTS, default=None, help=SUPPRESS)

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse, then resolve ``--ckpt_path`` once (see
        :mod:`fashion_lit.checkpoints.request`) and claim the command's run folder."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        if self._own(self.config).model.get("weights") is not None:
            refuse(
                f"{RETIRED_WEIGHTS} is gone: pass the file as --ckpt_path FILE (a checkpoint, "
                "the tutorial's model.pth, or a URL)."
            )
        if subcommand is not None:
            one_node_for_evaluation(subcommand, self._own(self.config).get("trainer"), args)
            self._resolve_checkpoint(parser, args, subcommand)
        del self._own(self.config).model.weights  # parsed only to be refused
        if subcommand is not None:
            self._claim_run(subcommand, self.config[subcommand])

    def _resolve_checkpoint(self, parser: LightningArgumentParser, args: Any, subcommand: str):
        config = self.config[subcommand]
        if config.get("weights_only") is False:
            refuse(
                "--weights_only false is refused: it would let a checkpoint run code when "
                "it is loaded. fashion_lit always loads checkpoints as data only."
            )
        spec = config.get("ckpt_path")
        if spec is None and subcommand != "fit" and not config.get("untrained"):
            refuse(
                f"{subcommand} needs trained weights: pass --ckpt_path best, last, a .ckpt "
                "file or the tutorial's model.pth (or --untrained true to use random "
                "weights, as a smoke test)."
            )
        if spec is None:
            return
        try:
            self.request = request_checkpoint(spec, config, given_model(parser, args, self.config))
        except CheckpointError as error:
            refuse(f"--ckpt_path {spec}: {across_nodes(str(error), config.get('trainer'))}")
        config.ckpt_path = None  # the request holds it now: Lightning must not read it
        if self.request.hyperparameters:
            taken = {subcommand: {"model": self.request.hyperparameters}}
            self.config = parser.parse_object(taken, self.config)

    def _claim_run(self, subcommand: str, config: Namespace) -> None:
        """Choose the command's run folder: the checkpoint's run, else a new one of this
        process's own (:func:`fashion_lit.runs.claim_run`). A logger with run folders is
        told its version; for any other logger, or none, the Trainer is told the folder
        (:meth:`instantiate_trainer`). Rank 0 alone decides; under DDP the other ranks
        take its folder from Lightning, which broadcasts it."""
        logger = config.get("trainer.logger")
        init_args = logger.get("init_args") if isinstance(logger, Namespace) else None
        self.logger_has_folders = has_run_folders(init_args)
        run = self.request.run if self.request is not None else None
        if run is not None:
            if self.logger_has_folders:
                init_args.version = run.name
            self.save_config_kwargs.update(
                config_filename=config_file_name(run, subcommand), overwrite=subcommand != "fit"
            )
        elif rank_zero_only.rank == 0:
            version = init_args.version if self.logger_has_folders else None
            if version is not None and not isinstance(version, str):
                version = f"version_{version}"
            if (
                version is not None
                and subcommand == "fit"
                and holds_a_run(runs_root(config) / version)
            ):
                # A trained run's config (a trial's best.yaml): train anew, beside it.
                print(f"{runs_root(config) / version} is a trained run: this fit starts a new run.")
                init_args.version = version = None
            run, self.created = claim_run(runs_root(config), version)
            if self.logger_has_folders:
                self.claimed = (init_args, init_args.version)
                init_args.version = run.name
        self.run_dir = run

    def instantiate_classes(self) -> None:
        """Build the classes; record the network's spec among the model's hyperparameters;
        then give the config, which the run saves as ``config.yaml``, back the logger's
        version as given: the claimed folder's name is this process's alone, and ``fit
        --config`` with that file must start a new run, not this one."""
        super().instantiate_classes()
        # The network as the config gives it (class_path and init_args; None: the
        # tutorial's), so that a checkpoint can rebuild it. Lightning saves only plain
        # hyperparameters of the model, which receives the network already built.
        net = self._own(self.config).model.get("net")
        self.model.hparams["net"] = net.as_dict() if isinstance(net, Namespace) else net
        if self.claimed is not None:
            init_args, version = self.claimed
            init_args.version = version

    def _own(self, config: Namespace) -> Namespace:
        """The part of ``config`` that belongs to the subcommand being run."""
        subcommand = self.config.get("subcommand")
        return config[subcommand] if subcommand else config

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The Trainer, with fashion_lit's progress bar
        (:mod:`fashion_lit.callbacks.progress`) and a :class:`LastCheckpoint` beside the
        run's :class:`RunCheckpoint`.

        A bar given in ``trainer.callbacks``, or ``trainer.enable_progress_bar: false``, is
        respected. ``last.ckpt`` is kept unless ``checkpoint.save_last: false``; its
        callback comes after the run's, so that ``trainer.checkpoint_callback`` is the
        best-by-metric one.
        """
        trainer_config = self._own(self.config_init).get("trainer") or {}
        callbacks = trainer_config.get("callbacks") or []
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        predicting = self.config.get("subcommand") == "predict"
        # Predictions piped to a file or a program are the output: no bar among them.
        wants_bar = trainer_config.get("enable_progress_bar") is not False and not (
            predicting and not sys.stdout.isatty()
        )
        ours: list[Callback] = []
        if wants_bar and not any(isinstance(c, ProgressBar) for c in callbacks):
            ours.append(StepLossProgressBar())
        if trainer_config.get("enable_model_summary") is not False and not any(
            isinstance(c, ModelSummary) for c in callbacks
        ):
            ours.append(NetworkSummary())
            kwargs["enable_model_summary"] = False  # Lightning's own: ours takes its place
        if ours:
            kwargs.setdefault("callbacks", [*callbacks, *ours])
        if predicting and not wants_bar:
            kwargs["enable_progress_bar"] = False
        if self.run_dir is not None and (predicting or not self.logger_has_folders):
            # The run's folder for what has no logger folder to go to; a predict logs
            # nothing, so it opens no logger (which would leave an empty event file).
            kwargs["default_root_dir"] = str(self.run_dir)
        if predicting:
            kwargs["logger"] = False
        run_checkpoint = self._own(self.config_init).get("checkpoint")
        if isinstance(run_checkpoint, RunCheckpoint) and self.run_dir is not None:
            if not self.logger_has_folders and run_checkpoint.dirpath is None:
                run_checkpoint.dirpath = str(self.run_dir / CHECKPOINTS)
        if trainer_config.get("profiler") is None:
            kwargs["profiler"] = NoProfiler()  # Lightning's default, without its per-hook cost
        strategy = distributed_strategy(trainer_config)
        if strategy is not None:  # several nodes: never wait for a lost one for long
            kwargs["strategy"] = strategy
        trainer = super().instantiate_trainer(**kwargs)
        if (
            isinstance(run_checkpoint, RunCheckpoint)
            and run_checkpoint.keeps_last
            and trainer_config.get("enable_checkpointing") is not False
        ):
            trainer.callbacks.append(LastCheckpoint(dirpath=run_checkpoint.dirpath))
        return trainer

    def fit(self, model: LightningModule, **kwargs: Any) -> None:
        """``trainer.fit``, stopping cleanly between two batches on Ctrl-C or SIGTERM;
        then, with ``--test_after_fit true``, the test of its best checkpoint."""
        unbounded = unbounded_training(self.trainer)
        if unbounded:
            rank_zero_info(unbounded)
        with clean_stop_on_signals():
            self._run(self.trainer.fit, model, **kwargs)
        if self._own(self.config).test_after_fit:
            self.test_best(model, kwargs.get("datamodule"))

    def test_best(self, model: LightningModule, datamodule: Any) -> None:
        """Test the fit's best checkpoint by ``val/acc`` as ``test --ckpt_path best``
        does, in this process; save its config and results in the run folder."""
        checkpoints = self.trainer.checkpoint_callback
        best = checkpoints.best_model_path if checkpoints else ""  # the same on every rank
        if not best:
            refuse("--test_after_fit: the fit saved no best checkpoint to test.")
        config = self._own(self.config).clone()
        config.ckpt_path = best
        run_config = next((c for c in self.trainer.callbacks if isinstance(c, RunConfig)), None)
        self._log_at_step_of(load(best, runs_root(config), None))
        results = self.trainer.test(model, datamodule=datamodule, ckpt_path=best, weights_only=True)
        run = self.run_dir  # rank 0's alone
        if run is not None:
            if run_config is not None:
                test_config = run / config_file_name(run, "test")
                run_config.parser.save(
                    config, test_config, skip_unset=False, overwrite=True, multifile=False
                )
            record = {"checkpoint": Path(best).name, **results[0]}
            with replaced_atomically(run / TEST_RESULTS) as temporary:
                temporary.write_text(json.dumps(record, indent=2) + "\n")
            print(end_of_run("test", self.trainer, run, Path(best)))

    def _log_at_step_of(self, checkpoint: Checkpoint) -> None:
        """Have an evaluation logged at the training step of the ``checkpoint`` it
        evaluates, beside the run's curves, not at step 0: Lightning logs evaluations at
        the fit loop's step, which the checkpoint records."""
        progress = checkpoint.fit_progress
        if progress is not None:
            self.trainer.fit_loop.load_state_dict(progress)

    def validate(self, model: LightningModule, **kwargs: Any) -> None:
        self._run(self.trainer.validate, model, **kwargs)

    def test(self, model: LightningModule, **kwargs: Any) -> None:
        self._run(self.trainer.test, model, **kwargs)

    def predict(self, model: LightningModule, **kwargs: Any) -> None:
        self._run(self.trainer.predict, model, **kwargs)

    def _run(self, method: Any, model: LightningModule, **kwargs: Any) -> None:
        """Run a Trainer method with the requested weights, loading checkpoints as data
        only; if it fails, remove the run folder this process created, unless a
        checkpoint was saved there (an empty one goes in any case)."""
        kwargs["weights_only"] = True
        if self.request is not None:
            try:
                self.request.load_into(model)
            except CheckpointError as error:
                refuse(f"--ckpt_path {self.request.checkpoint.path}: {error}")
            kwargs["ckpt_path"] = self.request.trainer_path
            if self.config.subcommand != "fit":
                self._log_at_step_of(self.request.checkpoint)
        failed = True
        try:
            method(model, **kwargs)
            failed = False
        finally:
            created, run = self.created, self.run_dir
            if created is not None and run is not None and run.is_dir():
                keep = any(run.rglob("*.ckpt")) if failed else any(run.iterdir())
                if not keep:
                    shutil.rmtree(created, ignore_errors=True)
        if self.trainer.is_global_zero and not self.trainer.fast_dev_run:
            source = self.request.checkpoint.path if self.request is not None else None
            block = end_of_run(self.config.subcommand, self.trainer, self.run_dir, source)
            if block:
                print(block)


def refuse(message: str) -> NoReturn:
    """End the command with ``message`` on one line and exit status 2, as a bad option."""
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(2)


def given_model(parser: LightningArgumentParser, args: Any, config: Namespace) -> Any:
    """The ``model`` options the user set on the command line or in a config file.

    Parsed again without defaults, on top of the parsed ``config`` less its model part:
    a class's options given alone (``--trainer.logger.init_args.name X``) then complete
    the class's parsed spec instead of failing as a spec without its required arguments.
    """
    subcommand = config.subcommand
    others = config.clone()
    del others[f"{subcommand}.model"]
    given = parser.parse_args(args, namespace=others, defaults=False)
    model = given.get(f"{subcommand}.model")
    return model if isinstance(model, Namespace) else None


def report_threads_full_disk_once(hook: threading.ExceptHookArgs) -> None:
    """``threading.excepthook`` for the commands: a full disk met by a library's writer
    thread (TensorBoard's event writer) is reported by the command itself, with the file
    named, when its next write fails; any other error in a thread is shown as usual."""
    if isinstance(hook.exc_value, OSError) and hook.exc_value.errno in NO_ROOM:
        return
    threading.__excepthook__(hook)


def cli_main(args: list[str] | None = None, run: bool = True) -> FashionLitCLI:
    """Build the CLI (and run its subcommand): ``args=None`` reads ``sys.argv``.

    A bad input file found while running (an image, a checkpoint's contents) ends the
    command with its message and exit status 2, as a bad option does, not a traceback.
    """
    threading.excepthook = report_threads_full_disk_once
    quiet_third_party()
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
            save_config_callback=RunConfig,
            parser_class=FashionLitParser,
            parser_kwargs={
                "prog": PROG,
                "description": "Train, evaluate and use the PyTorch Quickstart's "
                "FashionMNIST classifier with Lightning.",
                "allow_abbrev": False,
                **{name: {"allow_abbrev": False, "command": name} for name in SUBCOMMANDS},
            },
        )
    except INPUT_ERRORS as error:
        refuse(str(error))
    except DistError as error:  # a node that stopped, or one that never came
        refuse(lost_nodes(error))
    except OSError as error:  # a full disk under a library's writer: TensorBoard's, a YAML's
        if error.errno not in NO_ROOM:
            raise
        written = file_being_written(error)
        if written is None:
            raise
        refuse(str(no_space_error(written, error)))
