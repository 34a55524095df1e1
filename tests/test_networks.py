"""Any network: the CNN fashion_lit ships and a network of one's own, through every command;
a class that only a checkpoint names is refused, never imported."""

import os
import subprocess
import sys

import httpx
import pytest
import torch
import yaml

from fashion_lit.checkpoints.digest import DIGEST_KEY, with_digest
from fashion_lit.cnn import CNN
from fashion_lit.data import CLASSES
from fashion_lit.network import NeuralNetwork
from tests.helpers.networks import TinyNet
from tests.helpers.paths import REPO
from tests.helpers.serve import ANKLE_BOOT, Server
from tests.helpers.tiny_data import tiny_options
from tests.helpers.tune import run_tune

CNN_YAML = REPO / "configs" / "cnn.yaml"
CNN_CONFIG = f"--config={CNN_YAML}"
OWN_NET = f"--model.net={TinyNet.__module__}.{TinyNet.__qualname__}"


def served_prediction(server: Server) -> dict:
    with open(ANKLE_BOOT, "rb") as picture:
        answer = httpx.post(f"{server.url}/predict", files={"file": picture}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"][0]


def test_the_cnn_keeps_its_weights_channels_last_and_its_state_dict_loads_into_any_layout():
    cnn = CNN(channels=(8, 16), convs_per_block=2).eval()
    convolutions = [m for m in cnn.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convolutions) == 4
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convolutions)
    plain = CNN(channels=(8, 16), convs_per_block=2).to(memory_format=torch.contiguous_format)
    plain.load_state_dict(cnn.state_dict())
    images = torch.rand(5, 1, 28, 28)
    assert torch.allclose(plain.eval()(images), cnn(images), atol=1e-5)
    with pytest.raises(ValueError, match="convs_per_block must be 1 or more"):
        CNN(convs_per_block=0)


def test_the_cnn_goes_through_fit_test_predict_export_and_serve(run_cli, tiny_args, workdir):
    run_cli("fit", CNN_CONFIG, *tiny_args, "--trainer.max_epochs=1")
    # Without its config: the checkpoint records the CNN, which fashion_lit ships.
    tested = run_cli("test", *tiny_args, "--ckpt_path=best")
    assert isinstance(tested.model.net, CNN)
    run_cli("predict", *tiny_args, "--ckpt_path=last", "--data.predict_indices=[0, 1]")
    assert (workdir / "lightning_logs" / "version_0" / "predictions.csv").is_file()
    run_cli("export", "--ckpt_path=best", "--output_dir=exported")
    state_dict = torch.load(workdir / "exported" / "model.pth", weights_only=True)
    cnn = CNN(**yaml.safe_load(CNN_YAML.read_text())["model"]["net"]["init_args"])
    cnn.load_state_dict(state_dict)  # the CNN's model.pth loads into the CNN class…
    with pytest.raises(RuntimeError, match="Missing key"):
        NeuralNetwork().load_state_dict(state_dict)  # …not into the tutorial's network
    program = torch.export.load(workdir / "exported" / "model.pt2").module()
    images = torch.rand(3, 1, 28, 28)
    assert torch.allclose(program(images), cnn.eval()(images), atol=1e-5)
    with Server("best", workdir, "--processes=1") as server:
        assert served_prediction(server)["predicted_name"] in CLASSES


def test_the_cnn_and_a_csv_logger_go_through_a_search(tiny_mirror, tiny_checksums, tmp_path):
    (tmp_path / "search.yaml").write_text(
        "params:\n  model.net.init_args.hidden: {type: categorical, choices: [16, 32]}\n"
    )
    output = run_tune(
        tmp_path,
        CNN_CONFIG,
        "--search=search.yaml",
        "--trials=2",
        "--",
        *tiny_options(tiny_mirror, tiny_checksums),
        "--trainer.max_epochs=1",
        "--trainer.logger=lightning.pytorch.loggers.CSVLogger",
    )
    assert "Best: trial" in output
    for number in (0, 1):
        trial = tmp_path / "lightning_logs" / "search" / f"trial_{number}"
        assert (trial / "metrics.csv").is_file() and (trial / "checkpoints" / "last.ckpt").is_file()
        assert "val/acc" in (trial / "metrics.csv").read_text()


def test_a_network_of_ones_own_is_trained_tested_exported_and_served(run_cli, tiny_args, workdir):
    run_cli("fit", *tiny_args, OWN_NET, "--trainer.max_epochs=1")
    tested = run_cli("test", *tiny_args, OWN_NET, "--ckpt_path=best")
    assert isinstance(tested.model.net, TinyNet)
    run_cli("export", OWN_NET, "--ckpt_path=best", "--output_dir=exported")
    net = TinyNet()
    net.load_state_dict(torch.load(workdir / "exported" / "model.pth", weights_only=True))
    program = torch.export.load(workdir / "exported" / "model.pt2").module()
    images = torch.rand(2, 1, 28, 28)
    assert torch.allclose(program(images), net.eval()(images), atol=1e-5)
    with Server("best", workdir, OWN_NET, "--processes=1") as server:
        assert served_prediction(server)["predicted_name"] in CLASSES


@pytest.fixture
def naming_own_net(run_cli, tiny_args, workdir) -> str:
    """A checkpoint whose hyperparameters name a network of the tests' own, as a stranger's
    checkpoint might name any class; its digest written anew."""
    run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    last = workdir / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    checkpoint.pop(DIGEST_KEY)
    checkpoint["hyper_parameters"]["net"] = {"class_path": OWN_NET.split("=")[1]}
    torch.save(with_digest(checkpoint), workdir / "names_own.ckpt")
    return "names_own.ckpt"


@pytest.mark.parametrize("command", ["test", "export"])
def test_a_class_that_only_the_checkpoint_names_is_refused_and_never_imported(
    naming_own_net, tiny_mirror, tiny_checksums, workdir, command
):
    marker = workdir / "imported"
    options = tiny_options(tiny_mirror, tiny_checksums) if command == "test" else []
    done = subprocess.run(
        [sys.executable, "-m", "fashion_lit", command, f"--ckpt_path={naming_own_net}", *options],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(REPO), "FASHION_LIT_IMPORT_MARKER": str(marker)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "the checkpoint's hyperparameter model.net = 'tests.helpers.networks.TinyNet'" in (
        done.stderr
    )
    assert "Give --model.net yourself" in done.stderr and "Traceback" not in done.stderr
    assert not marker.exists()
