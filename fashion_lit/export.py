"""``python -m fashion_lit export``: a checkpoint → the tutorial's model.pth, and model.pt2.

``model.pth`` is the plain state_dict the tutorial saves and loads. ``model.pt2`` is a
``torch.export`` program (any batch size; TorchScript is deprecated) that runs without
fashion_lit or the network's class::

    logits = torch.export.load("model.pt2").module()(images)  # N×1×28×28 in [0, 1]

Existing files are kept unless ``--overwrite true``; both files are written, or neither.
"""

from pathlib import Path
from typing import Any

import torch

from fashion_lit.checkpoints import CheckpointError, load_network
from fashion_lit.checkpoints.reading import add_network_option
from fashion_lit.io import files
from fashion_lit.io.files import OutputError, replaced_atomically
from fashion_lit.parser import CommandParser
from fashion_lit.runs import ConfigFileError, shown

PROG = "python -m fashion_lit export"
SERVE = "python -m fashion_lit serve"
STATE_DICT_FILE = "model.pth"
PROGRAM_FILE = "model.pt2"


class ExportError(Exception):
    """The files cannot be written where the user asked (and nothing was written)."""


def export(
    ckpt_path: str = "best",
    output_dir: str = ".",
    overwrite: bool = False,
    config: str | None = None,
    net: Any = None,
) -> tuple[Path, Path, Path]:
    """Write the network of a checkpoint as model.pth (the tutorial's state_dict) and model.pt2;
    return the checkpoint read and the two files written.

    Both files are written, or neither: the checks come before any work, and both files
    are complete on disk before either replaces anything.

    Args:
        ckpt_path: ``best``/``last`` of the most recent run, a checkpoint file or URL, or
            a state_dict such as the tutorial's ``model.pth``.
        output_dir: the folder to write model.pth and model.pt2 into.
        overwrite: replace model.pth and model.pt2 if they exist.
        config: the training config (e.g. ``configs/quickstart.yaml``): ``best`` and
            ``last`` then look for runs where its logger writes them, in the run it
            names if it names one, as ``test`` does; otherwise in ``lightning_logs/``.
        net: the network's class path and init_args (``--model.net``), when neither the
            config nor the checkpoint says (a plain state_dict records no class).
    """
    outputs = Path(output_dir) / STATE_DICT_FILE, Path(output_dir) / PROGRAM_FILE
    check_writable(outputs, overwrite)
    loaded = load_network(ckpt_path, config, net)
    # The files hold the weights in the default layout, the one every reader expects (a
    # network may keep its own otherwise, as the CNN keeps channels-last for speed).
    network = loaded.net.to(memory_format=torch.contiguous_format)
    program = exported_program(network)
    with (
        replaced_atomically(outputs[0]) as state_dict_tmp,
        replaced_atomically(outputs[1]) as program_tmp,
    ):
        # Through memory: torch's zip writer aborts the process on a full disk.
        state_dict = network.state_dict()
        files.write_from_memory(state_dict_tmp, lambda file: torch.save(state_dict, file))
        files.write_from_memory(program_tmp, lambda file: torch.export.save(program, file))
    return (loaded.path, *outputs)


def check_writable(outputs: tuple[Path, ...], overwrite: bool) -> None:
    """Refuse, before any work, outputs that exist (without ``overwrite``) or cannot be
    written."""
    existing = [str(path) for path in outputs if path.exists()]
    if existing and not overwrite:
        raise ExportError(
            f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "pass --overwrite true to replace, or choose another --output_dir."
        )
    for path in outputs:
        files.check_writable(path, "--output_dir")


def exported_program(net: torch.nn.Module) -> torch.export.ExportedProgram:
    """``net`` as a ``torch.export`` program that takes any batch of 1×28×28 images."""
    batch = torch.export.Dim("batch")
    example = torch.zeros(2, 1, 28, 28)
    return torch.export.export(net, (example,), dynamic_shapes=({0: batch},))


def main(args: list[str] | None = None) -> None:
    """Parse the ``export`` subcommand's options, export, and report the files written."""
    parser = CommandParser(
        prog=PROG,
        description="Export a checkpoint's network as model.pth (the tutorial's state_dict) "
        "and model.pt2 (a torch.export program that runs without fashion_lit).",
        allow_abbrev=False,
    )
    parser.add_function_arguments(export, skip={"net"})
    add_network_option(parser)
    options = parser.parse_args(args).as_dict()
    net = (options.pop("model", None) or {}).get("net")
    try:
        source, state_dict_path, program_path = export(**options, net=net)
    except CheckpointError as error:
        parser.error(f"--ckpt_path {options['ckpt_path']}: {error}")
    except (ConfigFileError, ExportError, OutputError) as error:
        parser.error(str(error))
    print(
        f"export: read {shown(source)}\n"
        f"Wrote {state_dict_path} (the tutorial's state_dict) and {program_path} (torch.export)\n"
        f"  next: {SERVE} --ckpt_path {state_dict_path}"
    )
