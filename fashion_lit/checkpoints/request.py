"""``--ckpt_path``, resolved once: the file read, what it may set, the run it continues.

Right after ``parse_arguments``, LightningCLI reads a ``ckpt_path`` left in the config
again and copies all its hyperparameters into the config, unchecked (Lightning 2.6;
pinned by ``tests/test_checkpoint_request.py``). So the CLI resolves the request while
parsing, takes ``ckpt_path`` out of the config, and gives the Trainer the file itself:
every later step uses this one :class:`CheckpointRequest`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningModule

from fashion_lit.checkpoints.hyperparameters import hyperparameters_to_take, user_class_paths
from fashion_lit.checkpoints.reading import Checkpoint, load
from fashion_lit.runs import named_run, run_of, runs_root


@dataclass(frozen=True)
class CheckpointRequest:
    """What ``--ckpt_path`` asked for, read and checked.

    Attributes:
        checkpoint: the file, read once (a Lightning checkpoint or a plain state_dict).
        hyperparameters: the model keys the configuration takes from it.
        run: the run folder the command continues (a resumed ``fit``) or adds its
            results to (an evaluation): the checkpoint's own, when it sits among the
            runs of the configured logger; else None, and the command gets a new run.
    """

    checkpoint: Checkpoint
    hyperparameters: dict[str, Any]
    run: Path | None

    @property
    def trainer_path(self) -> str | None:
        """The file the Trainer restores: a Lightning checkpoint's, absolute (Lightning
        would download a relative path that starts with "http", such as ``http_runs/``);
        None for a plain state_dict, which :meth:`load_into` loads itself."""
        return str(self.checkpoint.path.resolve()) if self.checkpoint.is_lightning else None

    def load_into(self, model: LightningModule) -> None:
        """Check that the weights fit ``model``, and load a plain state_dict into its
        network (the Trainer restores a Lightning checkpoint from :attr:`trainer_path`).

        Raises:
            ArchitectureMismatchError: the weights are of another network.
        """
        target = model if self.checkpoint.is_lightning else model.net
        self.checkpoint.check_fits(target)
        if not self.checkpoint.is_lightning:
            target.load_state_dict(self.checkpoint.network_state_dict)


def request_checkpoint(spec: str, config: Any, given: Any) -> CheckpointRequest:
    """Resolve ``--ckpt_path spec`` for a subcommand's parsed ``config``.

    ``best`` and ``last`` are looked up in the run the config names, else the most recent
    run where its logger writes runs. ``given`` is the model part the user set (a
    Namespace, or None): its keys are not taken from the checkpoint, and the classes it
    names may be named by the checkpoint too (see :mod:`.hyperparameters`).

    Raises:
        CheckpointError: the file is missing, damaged, holds code, or names what may not
            be taken from a checkpoint.
    """
    checkpoint = load(spec, runs_root(config), named_run(config))
    if not checkpoint.is_lightning:
        return CheckpointRequest(checkpoint, {}, None)
    keys = set(vars(given)) if given is not None else set()
    taken = hyperparameters_to_take(checkpoint.hyperparameters, keys, user_class_paths(given))
    run = run_of(checkpoint.path)
    if run is not None and run.parent.resolve() != runs_root(config).resolve():
        run = None
    return CheckpointRequest(checkpoint, taken, run)
