"""The run's ``config.yaml``: Lightning's SaveConfigCallback, into the run's folder.

Lightning's writes into ``trainer.log_dir``, which for a logger other than TensorBoard's
or CSV's is the logger's ``save_dir`` — elsewhere, or none at all for MLflow with a
database store — and writes it for a ``fast_dev_run`` too, which keeps nothing else.
"""

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.cli import SaveConfigCallback

from fashion_lit.runs import run_folder


class RunConfig(SaveConfigCallback):
    """Saves the command's config in :func:`fashion_lit.runs.run_folder`, except for a
    ``fast_dev_run``; refuses to replace one unless ``overwrite``, as Lightning's does."""

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self.already_saved or trainer.fast_dev_run:
            return
        path = run_folder(trainer) / self.config_filename  # a collective call under DDP
        exists = trainer.strategy.broadcast(path.is_file() if trainer.is_global_zero else False)
        if exists and not self.overwrite:
            raise RuntimeError(
                f"{path} exists already: a run's config is never replaced. Start a new run, "
                "or give another trainer.logger.init_args.version."
            )
        if trainer.is_global_zero:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.parser.save(
                self.config, path, skip_unset=False, overwrite=self.overwrite, multifile=False
            )
        self.already_saved = True
