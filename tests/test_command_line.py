"""The command line as a new user meets it: defaults that are the tutorial, errors that
fit on a screen and name the option meant, help that lists what a command takes."""

from pathlib import Path

import pytest

from fashion_lit.cli import cli_main
from tests.helpers.cli import expect_cli_error
from tests.helpers.paths import REPO


def test_fit_without_a_config_is_the_quickstart(workdir):
    bare = cli_main([], run=False).config.as_dict()
    quickstart = cli_main(["--config", str(REPO / "configs/quickstart.yaml")], run=False)
    configured = quickstart.config.as_dict()
    del bare["config"], configured["config"]

    assert bare == configured
    assert bare["trainer"]["max_epochs"] == 5


@pytest.mark.parametrize(
    ("command", "misspelled", "meant"),
    [
        ("fit", "--trainer.max_epoch", "--trainer.max_epochs"),
        ("validate", "--ckpt_pth", "--ckpt_path"),
        ("test", "--data.batchsize", "--data.batch_size"),
        ("predict", "--prediction.outptu", "--prediction.output"),
        ("export", "--output-dir", "--output_dir"),
        ("serve", "--prot", "--port"),
        ("tune", "--trails", "--trials"),
    ],
)
def test_a_misspelled_option_is_answered_in_a_few_lines_with_the_one_meant(
    command, misspelled, meant, run_cli, capsys, workdir
):
    message = expect_cli_error(run_cli, capsys, command, misspelled, "3")
    lines = message.splitlines()

    assert len(lines) <= 6 and not any(line.startswith("usage:") for line in lines)
    assert lines[0].startswith(f"error: unrecognized arguments: {misspelled}")
    assert f"{misspelled}: did you mean {meant}" in message
    assert f"python -m fashion_lit {command} --help lists every option" in lines[-1]


def test_fit_help_lists_no_option_that_fit_refuses_or_ignores(run_cli, capsys):
    with pytest.raises(SystemExit):
        run_cli("fit", "--help")
    fit_help = capsys.readouterr().out
    with pytest.raises(SystemExit):
        run_cli("predict", "--help")
    predict_help = capsys.readouterr().out

    for refused in ("--weights_only", "--prediction.", "--untrained", "--model.weights"):
        assert refused not in fit_help
    assert "--prediction.output" in predict_help and "--untrained" in predict_help
    assert "--weights_only" not in predict_help


@pytest.mark.parametrize(("typed", "indices"), [("0", [0]), ("0,3", [0, 3]), ("[0,3]", [0, 3])])
def test_predict_indices_are_one_index_a_comma_list_or_a_list(
    typed, indices, run_cli, tiny_args, capsys
):
    cli = run_cli("predict", *tiny_args, "--untrained=true", "--data.predict_indices", typed)

    assert cli.datamodule.predict_indices == indices
    assert capsys.readouterr().out.count("Predicted: ") == len(indices)


def test_predict_indices_that_are_not_numbers_are_refused_with_the_forms_it_takes(
    run_cli, tiny_args, capsys
):
    message = expect_cli_error(
        run_cli, capsys, "predict", *tiny_args, "--untrained=true", "--data.predict_indices=a,b"
    )

    assert message == (
        "error: data.predict_indices 'a,b' is not a list of test image indices: give one "
        "index (0), several separated by commas (0,3) or a list ([0,3]).\n"
    )


def test_the_try_config_trains_into_its_own_folder_where_best_finds_it(run_cli, tiny_args):
    try_config = f"--config={REPO / 'configs/try.yaml'}"
    run_cli("fit", try_config, *tiny_args, "--trainer.max_epochs=1")

    tested = run_cli("test", try_config, *tiny_args, "--ckpt_path=best")

    assert tested.request.run == Path("lightning_logs/try/version_0")
    assert tested.request.checkpoint.path.parent == Path("lightning_logs/try/version_0/checkpoints")
