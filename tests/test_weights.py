"""The tutorial's model.pth loads into fashion_lit; bad checkpoints fail with clear messages."""

from pathlib import Path

import lightning
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.datasets import FashionMNIST
from torchvision.transforms import ToTensor

from fashion_lit.checkpoints import CheckpointError, UnsafeCheckpointError, load_network, read
from fashion_lit.module import ImageClassifier
from fashion_lit.network import NeuralNetwork
from tests.helpers.checkpoints import other_architecture_state_dict
from tests.helpers.cli import expect_cli_error
from tests.helpers.tiny_data import TINY_TRAIN, tiny_images
from tests.helpers.tutorial import TutorialNeuralNetwork, tutorial_accuracy


def tutorial_model_pth(path: str = "model.pth") -> TutorialNeuralNetwork:
    """Train the tutorial's network briefly on the tiny training set, as the tutorial
    would, and save it as the tutorial does: ``torch.save(model.state_dict(), path)``."""
    torch.manual_seed(0)
    model = TutorialNeuralNetwork()
    images, labels = tiny_images(TINY_TRAIN, seed=1)
    X = torch.from_numpy(images).float().div(255).unsqueeze(1)
    y = torch.from_numpy(labels).long()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03)
    for start in range(0, TINY_TRAIN, 64):
        loss = nn.functional.cross_entropy(model(X[start : start + 64]), y[start : start + 64])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    torch.save(model.state_dict(), path)
    return model


def test_tutorial_model_pth_loads_as_the_network(tmp_path):
    tutorial = tutorial_model_pth(str(tmp_path / "model.pth"))
    net = load_network(tmp_path / "model.pth").net
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(net(x), tutorial(x))


def test_tutorial_model_pth_gives_the_tutorials_test_accuracy(run_cli, tiny_args):
    tutorial = tutorial_model_pth()
    tested = run_cli("test", *tiny_args, "--ckpt_path=model.pth")
    test_data = FashionMNIST("data", train=False, transform=ToTensor())
    expected = tutorial_accuracy(DataLoader(test_data, batch_size=64), tutorial)
    assert 0.2 < expected < 1  # the brief training learned something, but not everything
    assert float(tested.trainer.callback_metrics["test/acc"]) == pytest.approx(expected, abs=1e-7)


def test_state_dict_of_another_architecture_names_the_first_mismatching_key(tmp_path):
    torch.save(other_architecture_state_dict(), tmp_path / "other.pth")
    with pytest.raises(CheckpointError) as error:
        read(tmp_path / "other.pth").check_fits(NeuralNetwork())
    assert "linear_relu_stack.0.weight is of shape (256, 784) in " in str(
        error.value
    ) and "other.pth but of shape (512, 784) in the model" in str(error.value)


def test_state_dict_of_another_architecture_fails_the_cli_clearly(run_cli, tiny_args, capsys):
    torch.save(other_architecture_state_dict(), "other.pth")
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--ckpt_path=other.pth")
    assert (
        "error: --ckpt_path other.pth: The weights do not fit the model: "
        "linear_relu_stack.0.weight is of shape "
        "(256, 784) in other.pth but of shape (512, 784) in the model"
    ) in err
    assert "Traceback" not in err


def test_state_dict_with_missing_keys_names_the_first_one(tmp_path):
    state_dict = NeuralNetwork().state_dict()
    del state_dict["linear_relu_stack.4.bias"]
    torch.save(state_dict, tmp_path / "partial.pth")
    with pytest.raises(
        CheckpointError, match=r"the model has linear_relu_stack\.4\.bias of shape \(10,\)"
    ):
        read(tmp_path / "partial.pth").check_fits(NeuralNetwork())


def test_lightning_checkpoint_of_another_architecture_names_the_first_mismatching_key(
    run_cli, tiny_args, capsys
):
    state_dict = ImageClassifier().state_dict()
    state_dict["net.linear_relu_stack.4.weight"] = torch.zeros(5, 512)
    torch.save(
        {"state_dict": state_dict, "pytorch-lightning_version": lightning.__version__}, "other.ckpt"
    )
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--ckpt_path=other.ckpt")
    assert (
        "net.linear_relu_stack.4.weight is of shape (5, 512) in other.ckpt but of shape "
        "(10, 512) in the model"
    ) in err


def test_truncated_checkpoint_is_reported_with_its_path(run_cli, tiny_args, capsys):
    torch.save(NeuralNetwork().state_dict(), "model.pth")
    Path("cut.pth").write_bytes(Path("model.pth").read_bytes()[:100_000])
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--ckpt_path=cut.pth")
    assert "cut.pth is corrupted or truncated" in err
    assert "Weights only load failed" not in err


def test_missing_checkpoint_is_named(run_cli, tiny_args, capsys):
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--ckpt_path=nowhere.ckpt")
    assert "No checkpoint file nowhere.ckpt" in err


def test_pickled_whole_model_is_refused_as_code_without_running_it(tmp_path):
    torch.save(NeuralNetwork(), tmp_path / "whole.pth")
    with pytest.raises(UnsafeCheckpointError, match="it would run code when loaded") as error:
        read(tmp_path / "whole.pth")
    assert "fashion_lit.network.NeuralNetwork" in str(error.value)
