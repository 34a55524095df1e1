"""``--model.step``: the lean step trains as Lightning's automatic optimisation does, and
``auto`` falls back to ``automatic`` where ``lean`` cannot follow, saying so."""

import signal

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.profilers import PassThroughProfiler, SimpleProfiler
from torch import nn

from fashion_lit.callbacks.checkpoints import RunCheckpoint
from fashion_lit.checkpoints import read
from fashion_lit.module import ImageClassifier
from fashion_lit.profiler import NoProfiler
from tests.helpers.callbacks import SignalAtBatch
from tests.helpers.cli import expect_cli_error
from tests.helpers.recipes import TUNED_RECIPE
from tests.helpers.tiny_data import TINY_TRAIN, TINY_VAL

BATCHES_PER_EPOCH = (TINY_TRAIN - TINY_VAL) // 32
ONE_CYCLE = [*TUNED_RECIPE, "--trainer.log_every_n_steps=4"]


def assert_same_training(automatic, lean) -> None:
    assert automatic.model.step_in_use == "automatic" and lean.model.step_in_use == "lean"
    assert lean.trainer.global_step == automatic.trainer.global_step == 2 * BATCHES_PER_EPOCH
    for name, tensor in automatic.model.state_dict().items():
        assert torch.equal(lean.model.state_dict()[name], tensor), name
    optimizers = [run.trainer.optimizers[0] for run in (automatic, lean)]
    assert optimizers[0].param_groups[0]["lr"] == optimizers[1].param_groups[0]["lr"]
    assert optimizers[0].param_groups[0]["momentum"] == optimizers[1].param_groups[0]["momentum"]
    metrics = [run.trainer.callback_metrics for run in (automatic, lean)]
    assert metrics[0].keys() == metrics[1].keys()
    for name, value in metrics[0].items():
        assert float(metrics[1][name]) == pytest.approx(float(value), rel=1e-5), name


def test_lean_trains_the_same_weights_steps_and_metrics_as_automatic(run_cli, tiny_args):
    automatic = run_cli("fit", *tiny_args, *ONE_CYCLE, "--model.step=automatic")
    lean = run_cli("fit", *tiny_args, *ONE_CYCLE)  # auto: lean
    assert_same_training(automatic, lean)


def test_a_run_saved_by_automatic_resumes_mid_epoch_with_lean_as_if_uninterrupted(
    run_cli, tiny_args
):
    stop = f"{{class_path: {SignalAtBatch.__module__}.SignalAtBatch, init_args: "
    stop += f"{{signum: {int(signal.SIGINT)}, epoch: 1, batch: 3}}}}"
    with pytest.raises(SystemExit):
        run_cli("fit", *tiny_args, "--model.step=automatic", f"--trainer.callbacks=[{stop}]")
    last = read("lightning_logs/version_0/checkpoints/last.ckpt").contents
    assert last["global_step"] == BATCHES_PER_EPOCH + 4
    lean = run_cli("fit", *tiny_args, "--ckpt_path=last")
    automatic = run_cli("fit", *tiny_args, "--model.step=automatic")
    assert lean.trainer.global_step == automatic.trainer.global_step
    for name, tensor in automatic.model.state_dict().items():
        assert torch.equal(lean.model.state_dict()[name], tensor), name


def test_auto_says_in_one_line_why_it_trains_with_automatic(run_cli, tiny_args, caplog):
    caplog.set_level("INFO", logger="lightning.pytorch")
    run = run_cli("fit", *tiny_args, "--trainer.max_epochs=1", "--trainer.gradient_clip_val=1")
    assert run.model.step_in_use == "automatic"
    lines = [r.getMessage() for r in caplog.records if "--model.step auto" in r.getMessage()]
    assert lines == [
        "--model.step auto: training with Lightning's automatic optimisation, as the lean "
        "step cannot honour trainer.gradient_clip_val=1.0 (clipping)."
    ]


def test_lean_with_an_option_it_cannot_honour_is_refused(run_cli, tiny_args, capsys):
    err = expect_cli_error(
        run_cli,
        capsys,
        "fit",
        *tiny_args,
        "--model.step=lean",
        "--trainer.accumulate_grad_batches=2",
    )
    assert err.strip().splitlines()[-1] == (
        "error: --model.step lean is refused: it cannot honour "
        "trainer.accumulate_grad_batches=2 (accumulation). Use --model.step automatic "
        "(or auto), or drop those options."
    )


def test_cuda_graph_and_another_step_together_are_refused(run_cli, tiny_args, capsys):
    err = expect_cli_error(
        run_cli, capsys, "fit", *tiny_args, "--model.cuda_graph=true", "--model.step=automatic"
    )
    assert "error: --model.cuda_graph true asks for the CUDA-graph step, and --model.step" in err


def test_a_fit_without_a_profiler_wraps_lightnings_hooks_in_one_shared_nothing(run_cli, tiny_args):
    fit = run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    profiler = fit.trainer.profiler
    assert isinstance(profiler, NoProfiler) and isinstance(profiler, PassThroughProfiler)
    assert profiler.profile("[Callback]a.hook") is profiler.profile("[LightningModule]b.hook")


def test_a_profiler_the_config_names_is_used_and_times_every_hook(run_cli, tiny_args):
    fit = run_cli("fit", *tiny_args, "--trainer.max_epochs=1", "--trainer.profiler=simple")
    assert isinstance(fit.trainer.profiler, SimpleProfiler)
    timed = fit.trainer.profiler.recorded_durations
    batch_end = [name for name in timed if name.endswith(".on_train_batch_end")]
    assert any(name.startswith("[Callback]RunCheckpoint{") for name in batch_end)
    assert len(timed["[LightningModule]ImageClassifier.on_train_batch_end"]) == BATCHES_PER_EPOCH


def test_the_checkpoints_keep_their_states_under_lightnings_own_keys(run_cli, tiny_args):
    fit = run_cli("fit", *tiny_args, "--trainer.max_epochs=1")
    checkpoints = [c for c in fit.trainer.callbacks if isinstance(c, ModelCheckpoint)]
    saved = read("lightning_logs/version_0/checkpoints/last.ckpt").contents["callbacks"]
    lightnings = ModelCheckpoint.state_key.fget  # formatted anew on every call
    assert len(checkpoints) == 2 and {lightnings(c) for c in checkpoints} <= saved.keys()
    checkpoint = fit.trainer.checkpoint_callback
    assert isinstance(checkpoint, RunCheckpoint)
    checkpoint.monitor = "val/loss"  # after training, the key follows the settings again
    assert checkpoint.state_key == lightnings(checkpoint) not in saved


def test_the_module_still_registers_what_is_assigned_to_it():
    # Lightning's note of the hook it is in takes a shortcut past nn.Module; nothing else does.
    model = ImageClassifier()
    model._current_fx_name = "training_step"
    model.head = nn.Linear(10, 2)
    model.scale = nn.Parameter(torch.ones(1))
    model.register_buffer("offset", torch.zeros(1))
    model.offset = torch.ones(1)
    assert model._current_fx_name == "training_step" and "_current_fx_name" not in model._modules
    assert "head" in model._modules and "scale" in model._parameters
    assert torch.equal(model._buffers["offset"], torch.ones(1))
