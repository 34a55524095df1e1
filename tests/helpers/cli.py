"""Running ``python -m fashion_lit`` in-process: its usage errors, and a quiet Trainer."""

import pytest
from lightning.pytorch import Trainer
from lightning.pytorch.cli import LightningCLI


def expect_cli_error(run_cli, capsys, *args) -> str:
    """Run the CLI, expect a usage error (exit status 2), return its message."""
    with pytest.raises(SystemExit) as exit_:
        run_cli(*args)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def quiet_trainer(**kwargs) -> Trainer:
    """A CPU Trainer that logs, checkpoints and prints nothing: for module-level tests."""
    return Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


class ParseOnlyCLI(LightningCLI):
    """Lightning's own CLI that parses and builds, but runs no ``test``: LightningCLI calls
    a method of its own named after the subcommand in place of the Trainer's."""

    def test(self, **kwargs) -> None:
        """Nothing to run: the parsed config is what the caller reads."""
