"""fashion_lit on a CUDA GPU: resident data, resume, predict, export and the CUDA-graph step.

Marked ``gpu`` and skipped where no GPU is present; ``make gpu-check`` runs them on a GPU
machine. The accelerator comes from ``FASHION_LIT_TEST_ACCELERATOR`` (default ``cuda``).
"""

import os
from pathlib import Path

import pytest
import torch
from torch import nn

from fashion_lit.checkpoints import read
from fashion_lit.cuda_graph import GraphedTrainingStep
from fashion_lit.network import NeuralNetwork
from tests.helpers.batches import batches
from tests.helpers.recipes import TUNED_RECIPE

ACCELERATOR = os.environ.get("FASHION_LIT_TEST_ACCELERATOR", "cuda")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture
def gpu_args(tiny_args) -> list[str]:
    return [*tiny_args, f"--trainer.accelerator={ACCELERATOR}"]


def weights(path: Path) -> dict[str, torch.Tensor]:
    return read(path).contents["state_dict"]


def assert_same_weights(a: Path, b: Path) -> None:
    first, second = weights(a), weights(b)
    for key, tensor in first.items():
        torch.testing.assert_close(second[key], tensor, rtol=1e-5, atol=1e-6, msg=key)


def test_fit_keeps_the_data_on_the_gpu_and_trains_as_on_the_cpu(run_cli, tiny_args, gpu_args):
    on_cpu = run_cli("fit", *tiny_args)
    on_gpu = run_cli("fit", *gpu_args)
    images = on_gpu.datamodule.train_dataloader().images
    assert images.device.type == "cuda" and images.dtype == torch.uint8
    folder = Path(on_gpu.trainer.log_dir) / "checkpoints"
    assert (folder / "last.ckpt").is_file() and (folder / "best.json").is_file()
    assert float(on_gpu.trainer.callback_metrics["val/acc"]) == pytest.approx(
        float(on_cpu.trainer.callback_metrics["val/acc"]), abs=2 / 128
    )


@pytest.mark.parametrize("cuda_graph", ["false", "true"])
def test_a_resumed_fit_ends_with_the_uninterrupted_fits_weights(run_cli, gpu_args, cuda_graph):
    graph = f"--model.cuda_graph={cuda_graph}"
    run_cli("fit", *gpu_args, graph)
    run_cli("fit", *gpu_args, graph, "--trainer.max_epochs=1")
    run_cli("fit", *gpu_args, graph, "--ckpt_path=last")
    runs = Path("lightning_logs")
    assert_same_weights(
        runs / "version_0/checkpoints/last.ckpt", runs / "version_1/checkpoints/last.ckpt"
    )


def test_predict_and_export_from_a_gpu_run(run_cli, gpu_args, capsys):
    run_cli("fit", *gpu_args, "--trainer.max_epochs=1")
    run_cli("predict", *gpu_args, "--ckpt_path=best", "--data.predict_indices=[0, 1]")
    assert "Wrote 2 predictions" in capsys.readouterr().out
    run_cli("export", "--ckpt_path=best", "--output_dir=exported")
    program = torch.export.load("exported/model.pt2").module()
    net = NeuralNetwork()
    net.load_state_dict(torch.load("exported/model.pth", weights_only=True))
    images = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(program(images), net(images))


def test_the_captured_step_equals_the_same_step_run_eagerly():
    results = []
    for capture in (False, True):
        torch.manual_seed(0)
        net = NeuralNetwork().cuda()
        optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        step = GraphedTrainingStep(net, nn.CrossEntropyLoss(), optimizer, capture=capture)
        losses = []
        for images, targets in [
            *batches(12),
            (torch.rand(5, 1, 28, 28), torch.randint(0, 10, (5,))),
        ]:
            loss, _ = step(images.cuda(), targets.cuda())
            losses.append(float(loss))
        results.append((net.state_dict(), losses))
    (eager, eager_losses), (graphed, graphed_losses) = results
    assert graphed_losses == pytest.approx(eager_losses, rel=1e-5)
    for key, tensor in eager.items():
        torch.testing.assert_close(graphed[key], tensor, rtol=1e-5, atol=1e-6)


def test_the_tuned_recipe_trains_with_the_graph_as_with_the_eager_step(run_cli, gpu_args):
    recipe = TUNED_RECIPE
    eager = run_cli("fit", *gpu_args, *recipe)
    graphed = run_cli("fit", *gpu_args, *recipe, "--model.step=cuda_graph")
    assert graphed.model.graphed_step is not None and graphed.model.graphed_step.graph is not None
    assert float(graphed.trainer.callback_metrics["val/acc"]) == pytest.approx(
        float(eager.trainer.callback_metrics["val/acc"]), abs=2 / 128
    )
