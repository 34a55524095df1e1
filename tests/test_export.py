"""``python -m fashion_lit export``: the tutorial's model.pth, and a program without fashion_lit."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fashion_lit.module import ImageClassifier
from fashion_lit.network import NeuralNetwork
from tests.helpers.checkpoints import other_architecture_state_dict
from tests.helpers.cli import expect_cli_error
from tests.helpers.tutorial import TutorialNeuralNetwork

# Runs in a fresh interpreter in which importing fashion_lit fails.
STANDALONE = """
import sys
sys.modules["fashion_lit"] = None
import torch
images = torch.load("images.pt")
program = torch.export.load("model.pt2").module()
torch.save(program(images), "program_logits.pt")
"""


@pytest.fixture
def model_pth(workdir) -> str:
    torch.manual_seed(0)
    torch.save(NeuralNetwork().state_dict(), "weights.pth")
    return "weights.pth"


def test_exported_model_pth_loads_into_the_tutorials_network_with_identical_logits(
    run_cli, tiny_args, capsys
):
    fit = run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    capsys.readouterr()
    run_cli("export", "--ckpt_path=best", "--output_dir=exported")
    assert "Wrote exported/model.pth (the tutorial's state_dict)" in capsys.readouterr().out
    tutorial = TutorialNeuralNetwork()
    tutorial.load_state_dict(torch.load("exported/model.pth"))
    trained = ImageClassifier.load_from_checkpoint(fit.trainer.checkpoint_callback.best_model_path)
    images = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(tutorial(images), trained.net.eval()(images))


def test_exported_program_runs_without_fashion_lit(run_cli, model_pth):
    run_cli("export", f"--ckpt_path={model_pth}")
    images = torch.rand(5, 1, 28, 28)
    torch.save(images, "images.pt")
    subprocess.run([sys.executable, "-c", STANDALONE], check=True)
    net = NeuralNetwork()
    net.load_state_dict(torch.load(model_pth))
    with torch.no_grad():
        assert torch.allclose(torch.load("program_logits.pt"), net(images), atol=1e-6)


def test_existing_files_are_kept_unless_overwrite_is_given(run_cli, model_pth, capsys):
    Path("model.pth").write_bytes(b"the user's own model")
    err = expect_cli_error(run_cli, capsys, "export", f"--ckpt_path={model_pth}")
    assert "model.pth already exists; pass --overwrite true" in err
    assert Path("model.pth").read_bytes() == b"the user's own model"
    assert not Path("model.pt2").exists()
    run_cli("export", f"--ckpt_path={model_pth}", "--overwrite=true")
    assert torch.load("model.pth").keys() == NeuralNetwork().state_dict().keys()
    assert Path("model.pt2").is_file()


def test_an_output_dir_that_cannot_be_written_is_refused_before_any_work(
    run_cli, model_pth, capsys
):
    Path("a_file").write_text("")
    err = expect_cli_error(
        run_cli, capsys, "export", f"--ckpt_path={model_pth}", "--output_dir=a_file/out"
    )
    assert (
        "--output_dir a_file/out/model.pth cannot be written: a_file is a file, not a folder."
        in err
    )
    assert Path("a_file").read_text() == ""


def test_both_files_are_written_or_neither(run_cli, model_pth, capsys):
    Path("out/model.pt2").mkdir(parents=True)  # a folder where model.pt2 must go
    err = expect_cli_error(
        run_cli,
        capsys,
        "export",
        f"--ckpt_path={model_pth}",
        "--output_dir=out",
        "--overwrite=true",
    )
    assert "out/model.pt2 is a folder" in err
    assert not Path("out/model.pth").exists()


def test_export_without_any_run_fails_clearly(run_cli, workdir, capsys):
    err = expect_cli_error(run_cli, capsys, "export", "--ckpt_path=last")
    assert "No trained run found under lightning_logs" in err


def test_checkpoint_of_another_architecture_is_not_exported(run_cli, workdir, capsys):
    torch.save(other_architecture_state_dict(), "other.pth")
    err = expect_cli_error(run_cli, capsys, "export", "--ckpt_path=other.pth")
    assert "linear_relu_stack.0.weight is of shape (256, 784) in other.pth" in err
    assert not Path("model.pth").exists()


def test_truncated_checkpoint_is_not_exported(run_cli, model_pth, capsys):
    Path("cut.ckpt").write_bytes(Path(model_pth).read_bytes()[:1000])
    err = expect_cli_error(run_cli, capsys, "export", "--ckpt_path=cut.ckpt")
    assert "cut.ckpt is corrupted or truncated" in err
    assert not Path("model.pth").exists()


def test_main_help_mentions_export(run_cli, capsys):
    with pytest.raises(SystemExit):
        run_cli("--help")
    assert "\n  export    write a checkpoint's network" in capsys.readouterr().out


def test_export_help_names_its_options(run_cli, capsys):
    with pytest.raises(SystemExit):
        run_cli("export", "--help")
    out = capsys.readouterr().out
    assert "usage: python -m fashion_lit export" in out
    for option in ("--ckpt_path", "--output_dir", "--overwrite"):
        assert option in out
