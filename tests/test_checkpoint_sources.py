"""Where a checkpoint comes from: a URL served by a real HTTP server, a file:// URL, a folder
whose name looks like a scheme, and ``best`` found from the run's own record."""

import shutil
from pathlib import Path

import pytest
import torch

from fashion_lit.network import NeuralNetwork
from fashion_lit.runs import named_run
from tests.helpers.checkpoints import CODE, CreatesAFile, trained_checkpoint
from tests.helpers.cli import expect_cli_error
from tests.helpers.http_mirror import MirrorServer


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_mirror, tiny_checksums) -> Path:
    """A folder holding ``good.ckpt`` (a real run's) and ``poisoned.ckpt``, whose pickle
    would create the file ``marker`` beside them."""
    trained = trained_checkpoint(tmp_path_factory.mktemp("run"), tiny_mirror, tiny_checksums)
    folder = tmp_path_factory.mktemp("served")
    shutil.copy(trained, folder / "good.ckpt")
    poison = {"state_dict": NeuralNetwork().state_dict(), "x": CreatesAFile(folder / "marker")}
    torch.save(poison, folder / "poisoned.ckpt")
    return folder


def test_a_checkpoint_served_over_http_is_tested(run_cli, tiny_args, served):
    with MirrorServer(served) as server:
        tested = run_cli("test", *tiny_args, f"--ckpt_path={server.url}good.ckpt")
    assert 0 <= float(tested.trainer.callback_metrics["test/acc"]) <= 1
    assert server.requests == ["good.ckpt"]


@pytest.mark.parametrize("options", [[], ["--weights_only=true"], ["--weights_only=false"]])
def test_a_poisoned_checkpoint_over_http_is_refused_whatever_the_options(
    run_cli, tiny_args, served, capsys, options
):
    with MirrorServer(served) as server:
        err = expect_cli_error(
            run_cli,
            capsys,
            "predict",
            *tiny_args,
            f"--ckpt_path={server.url}poisoned.ckpt",
            *options,
        )
    assert CODE in err or "--weights_only false is refused" in err
    assert not (served / "marker").exists()


def test_a_poisoned_checkpoint_at_a_file_url_is_refused(run_cli, tiny_args, served, capsys):
    url = (served / "poisoned.ckpt").as_uri()
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, f"--ckpt_path={url}")
    assert f"{served / 'poisoned.ckpt'} {CODE}" in err
    assert not (served / "marker").exists()


def test_a_checkpoint_at_a_file_url_is_tested(run_cli, tiny_args, served):
    tested = run_cli("test", *tiny_args, f"--ckpt_path={(served / 'good.ckpt').as_uri()}")
    assert "test/acc" in tested.trainer.callback_metrics


def test_a_missing_url_names_the_servers_answer(run_cli, tiny_args, served, capsys):
    with MirrorServer(served) as server:
        err = expect_cli_error(
            run_cli, capsys, "test", *tiny_args, f"--ckpt_path={server.url}x.ckpt"
        )
    assert f"Cannot download {server.url}x.ckpt: the server answered 404" in err


def test_an_unsupported_scheme_is_refused(run_cli, tiny_args, capsys):
    err = expect_cli_error(run_cli, capsys, "test", *tiny_args, "--ckpt_path=s3://bucket/x.ckpt")
    assert "s3:// URLs are not supported; give an http(s):// or file:// URL" in err


def test_weights_only_false_is_refused_even_for_a_local_file(run_cli, tiny_args, served, capsys):
    shutil.copy(served / "good.ckpt", "good.ckpt")
    err = expect_cli_error(
        run_cli, capsys, "test", *tiny_args, "--ckpt_path=good.ckpt", "--weights_only=false"
    )
    assert "--weights_only false is refused: it would let a checkpoint run code" in err


def test_a_folder_named_like_a_scheme_is_a_folder(run_cli, tiny_args, served):
    Path("http_runs").mkdir()
    shutil.copy(served / "good.ckpt", "http_runs/good.ckpt")
    tested = run_cli("test", *tiny_args, "--ckpt_path=http_runs/good.ckpt")
    assert tested.trainer.ckpt_path == str(Path("http_runs/good.ckpt").resolve())


def test_best_comes_from_the_runs_record_without_reading_last(run_cli, tiny_args):
    fit = run_cli("fit", *tiny_args)
    folder = Path(fit.trainer.log_dir) / "checkpoints"
    assert (folder / "best.json").is_file()
    (folder / "last.ckpt").write_bytes(b"damaged")
    tested = run_cli("test", *tiny_args, "--ckpt_path=best")
    assert (
        Path(tested.trainer.ckpt_path).resolve()
        == Path(fit.trainer.checkpoint_callback.best_model_path).resolve()
    )


def test_a_config_names_its_run_by_its_loggers_version():
    def config(version) -> dict:
        logger = {"init_args": {"save_dir": "runs", "name": "study", "version": version}}
        return {"trainer": {"logger": logger}}

    assert named_run(config("trial_3")) == Path("runs/study/trial_3")
    assert named_run(config(2)) == Path("runs/study/version_2")
    assert named_run(config(None)) is None
    assert named_run({}) is None
