"""``python -m fashion_lit COMMAND`` and the ``fashion-lit`` console script: the router.

``fit``, ``validate``, ``test`` and ``predict`` are Lightning's (:mod:`fashion_lit.cli`);
``export``, ``serve`` and ``tune`` have their own modules. A command's module is imported
only when that command runs, so ``--help`` answers without importing torch or Lightning
and ``serve`` never imports Optuna. Nothing in the package imports this module.
"""

import difflib
import gc
import sys
from typing import Any

PROG = "python -m fashion_lit"


def _lightning(args: list[str]) -> Any:
    from fashion_lit.cli import cli_main

    # From a shell, Lightning reads sys.argv itself (and warns if given both).
    return cli_main(None if args == sys.argv[1:] else args)


def _export(args: list[str]) -> None:
    from fashion_lit.export import main

    main(args[1:])


def _serve(args: list[str]) -> None:
    from fashion_lit.serve.command import main

    main(args[1:])


def _tune(args: list[str]) -> None:
    from fashion_lit.tune.command import main

    main(args[1:])


#: Each command: what runs it (with the whole argument list), and what it is for.
COMMANDS = {
    "fit": (_lightning, "train (the tutorial: --config configs/quickstart.yaml)"),
    "validate": (_lightning, "evaluate a checkpoint on the validation split"),
    "test": (_lightning, "evaluate a checkpoint on the test set"),
    "predict": (_lightning, "classify test images or picture files, to CSV or JSON"),
    "export": (_export, "write a checkpoint's network as model.pth and model.pt2"),
    "serve": (_serve, "serve a checkpoint's network over HTTP, with a web page"),
    "tune": (_tune, "search hyperparameters with Optuna"),
}


def usage() -> str:
    lines = [
        f"usage: {PROG} COMMAND [options]    ({PROG} COMMAND --help lists its options)",
        "",
        "Train, evaluate, serve and tune the PyTorch Quickstart's FashionMNIST classifier "
        "with Lightning.",
        "",
        "commands:",
        *(f"  {name:<9} {about}" for name, (_, about) in COMMANDS.items()),
    ]
    return "\n".join(lines) + "\n"


def run(args: list[str]) -> Any:
    """Run the command that ``args`` names; what it returns (a Lightning command's CLI)."""
    if args[:1] in ([], ["-h"], ["--help"]):
        (sys.stdout if args else sys.stderr).write(usage())
        raise SystemExit(0 if args else 2)
    command = COMMANDS.get(args[0])
    if command is None and not args[0].startswith("-"):
        close = difflib.get_close_matches(args[0], COMMANDS, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}?" if close else "choose one of the above."
        sys.stderr.write(f"{usage()}\nerror: no command {args[0]!r}; {hint}\n")
        raise SystemExit(2)
    return (command[0] if command else _lightning)(args)


def main() -> None:
    """The console script and ``python -m fashion_lit``: exit status 0 on success (a
    console script exits with what its function returns)."""
    from fashion_lit.tune.parent import follow_tune

    follow_tune()  # a trial of a search ends with it, from its start
    run(sys.argv[1:])
    # The command is done and its files are closed; the process only has to exit. Python's
    # last garbage collections would walk every object that torch and Lightning created,
    # a second or more on a small CPU; frozen objects are left to the operating system.
    gc.freeze()


if __name__ == "__main__":
    main()
