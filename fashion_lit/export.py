"""``python -m fashion_lit export``: a checkpoint → the tutorial's model.pth, and model.pt2.

* ``model.pth`` is the network's plain state_dict, the file the tutorial saves with
  ``torch.save(model.state_dict(), "model.pth")``: the tutorial's ``NeuralNetwork`` loads it
  with ``load_state_dict``.
* ``model.pt2`` is the network exported with ``torch.export`` (any batch size). It runs
  without fashion_lit, or the network's class, installed::

      program = torch.export.load("model.pt2").module()
      logits = program(images)  # images: N×1×28×28 in [0, 1]

  ``torch.export`` is the format PyTorch now recommends for this; TorchScript
  (``torch.jit``) is deprecated.

Existing files are kept unless ``--overwrite`` is given; both are written atomically.
"""

from pathlib import Path

import torch
from jsonargparse import ActionYesNo, ArgumentParser

from fashion_lit.checkpoints import (
    RUNS_ROOT,
    CheckpointError,
    check_state_dict_fits,
    read_checkpoint,
    resolve_alias,
)
from fashion_lit.files import replaced_atomically
from fashion_lit.network import NeuralNetwork
from fashion_lit.weights import network_state_dict

PROG = "python -m fashion_lit export"
STATE_DICT_FILE = "model.pth"
PROGRAM_FILE = "model.pt2"


def export(
    ckpt_path: str = "best",
    output_dir: str = ".",
    overwrite: bool = False,
    runs_root: str = RUNS_ROOT,
) -> tuple[Path, Path]:
    """Write the network of a checkpoint as model.pth (the tutorial's state_dict) and model.pt2.

    Args:
        ckpt_path: a checkpoint file, or ``best``/``last`` of the most recent run.
        output_dir: the folder to write model.pth and model.pt2 into.
        overwrite: replace model.pth and model.pt2 if they exist.
        runs_root: where ``best`` and ``last`` look for runs.
    """
    if ckpt_path in ("best", "last"):
        ckpt_path = str(resolve_alias(ckpt_path, runs_root))
    state_dict = network_state_dict(read_checkpoint(ckpt_path), ckpt_path)
    net = NeuralNetwork()
    check_state_dict_fits(state_dict, net, ckpt_path)
    net.load_state_dict(state_dict)
    net.eval()

    outputs = Path(output_dir) / STATE_DICT_FILE, Path(output_dir) / PROGRAM_FILE
    existing = [str(path) for path in outputs if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "pass --overwrite to replace, or choose another --output_dir."
        )
    with replaced_atomically(outputs[0]) as tmp:
        torch.save(net.state_dict(), tmp)
    with replaced_atomically(outputs[1]) as tmp:
        torch.export.save(exported_program(net), tmp)
    return outputs


def exported_program(net: torch.nn.Module) -> torch.export.ExportedProgram:
    """``net`` as a ``torch.export`` program that takes any batch of 1×28×28 images."""
    batch = torch.export.Dim("batch")
    example = torch.zeros(2, 1, 28, 28)
    return torch.export.export(net, (example,), dynamic_shapes=({0: batch},))


def main(args: list[str] | None = None) -> None:
    """Parse the ``export`` subcommand's options, export, and report the files written."""
    parser = ArgumentParser(
        prog=PROG,
        description="Export a checkpoint's network as model.pth (the tutorial's state_dict) "
        "and model.pt2 (a torch.export program that runs without fashion_lit).",
        allow_abbrev=False,
    )
    parser.add_function_arguments(export, skip={"overwrite"})
    # A flag, as users expect: --overwrite rather than --overwrite true.
    parser.add_argument(
        "--overwrite",
        action=ActionYesNo,
        default=False,
        help="replace model.pth and model.pt2 if they exist.",
    )
    config = parser.parse_args(args)
    try:
        state_dict_path, program_path = export(**config.as_dict())
    except (CheckpointError, FileExistsError) as error:
        parser.error(str(error))
    print(f"Wrote {state_dict_path} (the tutorial's state_dict) and {program_path} (torch.export)")
