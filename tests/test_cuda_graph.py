"""The CUDA-graph training step: its update is torch.optim.SGD's, and it is refused clearly
where it cannot run. The capture itself needs a GPU: see tests/test_gpu.py."""

from pathlib import Path

import pytest
import torch
from torch import nn

from fashion_lit.cuda_graph import CudaGraphUnsupportedError, GraphedTrainingStep
from fashion_lit.network import NeuralNetwork
from tests.helpers.batches import batches
from tests.helpers.cli import expect_cli_error


def train(optimizer_options: dict, schedule: bool, label_smoothing: float, graphed: bool):
    """Weights after 25 steps with torch's SGD (and OneCycleLR), or with the graphed step
    run eagerly; the same data, seed and schedule."""
    torch.manual_seed(0)
    net = NeuralNetwork()
    criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    optimizer = torch.optim.SGD(net.parameters(), **optimizer_options)
    scheduler = (
        torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=25)
        if schedule
        else None
    )
    step = GraphedTrainingStep(net, criterion, optimizer, capture=False) if graphed else None
    for images, targets in batches(25):
        if step is not None:
            step(images, targets)
        else:
            criterion(net(images), targets).backward()
            optimizer.step()
            optimizer.zero_grad()
        if scheduler is not None:
            scheduler.step()
    return net.state_dict(), optimizer.state_dict()


@pytest.mark.parametrize(
    ("optimizer_options", "schedule", "label_smoothing"),
    [
        ({"lr": 1e-3}, False, 0.0),  # the quickstart
        ({"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}, True, 0.1),  # tuned
        ({"lr": 0.05, "momentum": 0.5, "dampening": 0.1, "maximize": False}, False, 0.0),
    ],
    ids=["quickstart", "tuned", "dampening"],
)
def test_the_graphed_steps_update_is_torchs_sgd(optimizer_options, schedule, label_smoothing):
    expected, expected_state = train(optimizer_options, schedule, label_smoothing, graphed=False)
    actual, actual_state = train(optimizer_options, schedule, label_smoothing, graphed=True)
    for key, tensor in expected.items():
        torch.testing.assert_close(actual[key], tensor, rtol=1e-5, atol=1e-6)
    for index, state in expected_state["state"].items():
        torch.testing.assert_close(
            actual_state["state"][index]["momentum_buffer"], state["momentum_buffer"]
        )


def test_an_optimizer_other_than_sgd_is_refused():
    net = NeuralNetwork()
    with pytest.raises(
        CudaGraphUnsupportedError, match="supports torch.optim.SGD .*torch.optim.adamw.AdamW"
    ):
        GraphedTrainingStep(net, nn.CrossEntropyLoss(), torch.optim.AdamW(net.parameters()))


def test_cuda_graph_on_a_cpu_is_refused_with_the_reason(run_cli, tiny_args, capsys):
    err = expect_cli_error(run_cli, capsys, "fit", *tiny_args, "--model.cuda_graph=true")
    assert (
        "--model.cuda_graph true is refused: it needs a CUDA GPU, and this run is on the CPU" in err
    )
    assert "Drop --model.cuda_graph to train with the eager step." in err
    assert not Path("lightning_logs/version_0").exists()


def test_the_cuda_graph_step_on_a_cpu_is_refused_naming_its_option(run_cli, tiny_args, capsys):
    err = expect_cli_error(run_cli, capsys, "fit", *tiny_args, "--model.step=cuda_graph")
    assert "error: --model.step cuda_graph is refused: it needs a CUDA GPU" in err
    assert "Drop --model.step cuda_graph to train with the eager step." in err
