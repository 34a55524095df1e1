"""Lightning's DDP on two CPU processes (gloo), as the tests run it."""

PROCESSES = 2


def on_two_processes(args: list[str]) -> list[str]:
    """``args`` with DDP on two CPU processes instead of one device."""
    return [a for a in args if not a.startswith("--trainer.devices=")] + [
        "--trainer.strategy=ddp",
        f"--trainer.devices={PROCESSES}",
    ]
