"""Bad checkpoints and bad configs: refused early, with the file or option and the fix."""

from pathlib import Path

import pytest
import torch
import yaml

from fashion_lit.checkpoints import ArchitectureMismatchError, check_state_dict_fits
from fashion_lit.checkpoints.digest import DIGEST_KEY, with_digest
from fashion_lit.network import NeuralNetwork
from tests.helpers.cli import expect_cli_error

LAST = Path("lightning_logs") / "version_0" / "checkpoints" / "last.ckpt"


@pytest.fixture
def trained(run_cli, tiny_args, capsys) -> Path:
    """A one-epoch run; the path of its last.ckpt."""
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    capsys.readouterr()
    return LAST


def test_missing_checkpoint_lists_the_checkpoints_of_its_folder(
    run_cli, tiny_args, trained, capsys
):
    missing = trained.parent / "epoch07.ckpt"
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, f"--ckpt_path={missing}")
    assert f"No checkpoint file {missing}" in err
    assert f"Checkpoints in {trained.parent}:" in err and "last.ckpt" in err
    assert not (Path("lightning_logs") / "version_1").exists()


def test_missing_checkpoint_elsewhere_lists_the_most_recent_run(
    run_cli, tiny_args, trained, capsys
):
    err = expect_cli_error(run_cli, capsys, "validate", *tiny_args, "--ckpt_path=model.ckpt")
    assert "No checkpoint file model.ckpt" in err
    assert f"most recent run, {trained.parent.parent}" in err and "last.ckpt" in err


def test_truncated_checkpoint_is_called_corrupted_or_truncated(run_cli, tiny_args, trained, capsys):
    truncated = Path("truncated.ckpt")
    truncated.write_bytes(trained.read_bytes()[: trained.stat().st_size // 2])
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, f"--ckpt_path={truncated}")
    assert f"--ckpt_path {truncated}: {truncated} is corrupted or truncated" in err
    assert "weights_only" not in err


@pytest.mark.parametrize("content", [b"not a checkpoint\n", b"\x80\x04K\x01."])
def test_file_that_is_no_checkpoint_is_refused_without_pytorchs_explanation(
    run_cli, tiny_args, capsys, content
):
    Path("notes.ckpt").write_bytes(content)
    err = expect_cli_error(run_cli, capsys, "fit", *tiny_args, "--ckpt_path=notes.ckpt")
    assert "notes.ckpt is" in err and "weights_only" not in err
    assert not Path("lightning_logs").exists()


def test_checkpoint_of_another_network_names_the_first_mismatch_and_both_shapes(
    run_cli, tiny_args, trained, capsys
):
    checkpoint = torch.load(trained, weights_only=True)
    checkpoint.pop(DIGEST_KEY)
    checkpoint["state_dict"]["net.linear_relu_stack.0.weight"] = torch.zeros(256, 784)
    torch.save(with_digest(checkpoint), "narrow.ckpt")  # whole: of another network
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--ckpt_path=narrow.ckpt")
    assert (
        "net.linear_relu_stack.0.weight is of shape (256, 784) in narrow.ckpt but of "
        "shape (512, 784) in the model"
    ) in err
    assert "config.yaml" in err


def test_state_dict_lacking_a_key_of_the_model_is_named():
    state = NeuralNetwork().state_dict()
    del state["linear_relu_stack.2.bias"]
    with pytest.raises(
        ArchitectureMismatchError,
        match=r"the model has linear_relu_stack\.2\.bias "
        r"of shape \(512,\), which model\.pth lacks",
    ):
        check_state_dict_fits(state, NeuralNetwork(), "model.pth")


def test_state_dict_with_a_key_the_model_lacks_is_named():
    state = {**NeuralNetwork().state_dict(), "extra.weight": torch.zeros(3)}
    with pytest.raises(
        ArchitectureMismatchError,
        match=r"model\.pth has extra\.weight of shape "
        r"\(3,\), which the model lacks",
    ):
        check_state_dict_fits(state, NeuralNetwork(), "model.pth")


def test_matching_state_dict_passes():
    check_state_dict_fits(NeuralNetwork().state_dict(), NeuralNetwork(), "model.pth")


def test_missing_config_file_is_named(run_cli, workdir, capsys):
    err = expect_cli_error(run_cli, capsys, "fit", "--config=configs/quickstrat.yaml")
    assert 'Parser key "config": File does not exist:' in err and "configs/quickstrat.yaml" in err


def test_misspelled_key_in_a_config_file_is_named(run_cli, workdir, capsys):
    Path("run.yaml").write_text(yaml.safe_dump({"trainer": {"max_epoch": 3}}))
    err = expect_cli_error(run_cli, capsys, "fit", "--config=run.yaml")
    assert "does not accept option 'trainer.max_epoch'" in err


def test_value_of_the_wrong_type_names_the_key_and_the_value(run_cli, workdir, capsys):
    Path("run.yaml").write_text(yaml.safe_dump({"data": {"batch_size": "many"}}))
    err = expect_cli_error(run_cli, capsys, "fit", "--config=run.yaml")
    assert 'Parser key "data.batch_size"' in err and "Expected a <class 'int'>" in err
    assert "many" in err
