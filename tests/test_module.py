"""The LightningModule: the tutorial's loss and optimizer, stage metrics, predictions."""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from fashion_lit.batches import CLASS_INDEX, IMAGE, INDEX, PATH, PROBABILITIES, TARGET
from fashion_lit.data import FashionMNISTDataModule
from fashion_lit.module import ImageClassifier
from fashion_lit.network import NeuralNetwork
from tests.helpers.cli import quiet_trainer
from tests.helpers.tiny_data import TINY_VAL


def labelled_loader(count: int = 64) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(count, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (count,), generator=generator)
    return DataLoader(TensorDataset(images, labels), batch_size=16)


def test_default_network_and_optimizer_are_the_tutorials():
    model = ImageClassifier()
    assert isinstance(model.net, NeuralNetwork)
    optimizer = model.configure_optimizers()
    assert type(optimizer) is torch.optim.SGD
    assert optimizer.defaults["lr"] == 1e-3 and optimizer.defaults["momentum"] == 0


def test_receives_the_network_it_is_given():
    net = NeuralNetwork()
    assert ImageClassifier(net=net).net is net


def test_loss_is_cross_entropy():
    model = ImageClassifier()
    x, y = torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))
    loss, preds, targets = model.model_step((x, y))
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(model(x), y))
    assert torch.equal(preds, model(x).argmax(1)) and targets is y


def test_parameters_change_after_a_training_step():
    model = ImageClassifier()
    before = [p.detach().clone() for p in model.parameters()]
    quiet_trainer(max_steps=1, limit_val_batches=0).fit(model, labelled_loader())
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_logs_the_named_metrics():
    model = ImageClassifier()
    trainer = quiet_trainer(max_epochs=1, num_sanity_val_steps=0)
    trainer.fit(model, labelled_loader(), labelled_loader())
    fit_metrics = set(trainer.callback_metrics)
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "val/acc_best"} <= fit_metrics
    trainer.test(model, labelled_loader(), verbose=False)
    assert {"test/loss", "test/acc"} <= set(trainer.callback_metrics)
    assert 0 <= float(trainer.callback_metrics["test/acc"]) <= 1


def test_test_accuracy_is_the_fraction_of_correct_predictions():
    model = ImageClassifier()
    loader = labelled_loader()
    trainer = quiet_trainer()
    trainer.test(model, loader, verbose=False)
    with torch.no_grad():
        correct = sum((model(x).argmax(1) == y).sum().item() for x, y in loader)
    assert float(trainer.callback_metrics["test/acc"]) == correct / len(loader.dataset)


def test_predict_step_returns_class_and_probabilities_with_the_identifiers():
    model = ImageClassifier()
    x, y, index = torch.rand(5, 1, 28, 28), torch.arange(5), torch.arange(10, 15)
    out = model.predict_step({IMAGE: x, TARGET: y, INDEX: index}, 0)
    assert torch.allclose(out[PROBABILITIES].sum(1), torch.ones(5))
    assert torch.equal(out[CLASS_INDEX], model(x).argmax(1))
    assert torch.equal(out[TARGET], y) and torch.equal(out[INDEX], index)
    paths = [f"{i}.png" for i in range(5)]
    assert set(model.predict_step({IMAGE: x, PATH: paths}, 0)) == {CLASS_INDEX, PROBABILITIES, PATH}


def test_every_predict_source_yields_the_one_predict_batch_shape(
    tiny_mirror, tiny_checksums, tmp_path
):
    from PIL import Image

    Image.new("L", (28, 28)).save(tmp_path / "a.png")
    test_images = FashionMNISTDataModule(
        data_dir=str(tmp_path / "data"),
        sources=[str(tiny_mirror)],
        checksums=str(tiny_checksums),
        download=False,
        val_size=TINY_VAL,
        predict_indices=[0, 2],
    )
    files = FashionMNISTDataModule(predict_paths=[str(tmp_path / "a.png")])
    for datamodule, identifiers in ((test_images, {TARGET, INDEX}), (files, {PATH})):
        datamodule.prepare_data()
        datamodule.setup("predict")
        (batch,) = list(datamodule.predict_dataloader())
        assert set(batch) == {IMAGE, *identifiers}
        assert batch[IMAGE].shape[1:] == (1, 28, 28)


def test_optimizer_can_be_swapped():
    model = ImageClassifier(optimizer=lambda params: torch.optim.AdamW(params, lr=3e-4))
    optimizer = model.configure_optimizers()
    assert type(optimizer) is torch.optim.AdamW and optimizer.defaults["lr"] == 3e-4


def test_label_smoothing_reaches_the_loss():
    model = ImageClassifier(label_smoothing=0.1)
    x, y = torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))
    loss, _, _ = model.model_step((x, y))
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(model(x), y, label_smoothing=0.1))


def test_one_cycle_schedule_spans_the_whole_run_stepping_every_batch():
    def one_cycle(optimizer, *, total_steps):
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=total_steps)

    model = ImageClassifier(lr_scheduler=one_cycle)
    trainer = quiet_trainer(max_epochs=2, limit_val_batches=0)
    trainer.fit(model, labelled_loader())  # 4 batches an epoch
    scheduler = trainer.lr_scheduler_configs[0].scheduler
    assert scheduler.total_steps == 8 and scheduler.last_epoch == 8


def test_without_a_schedule_the_learning_rate_stays_the_optimizers():
    model = ImageClassifier()
    trainer = quiet_trainer(max_epochs=1, limit_val_batches=0)
    trainer.fit(model, labelled_loader())
    assert trainer.lr_scheduler_configs == []
    assert trainer.optimizers[0].param_groups[0]["lr"] == 1e-3


def test_validation_loss_is_the_mean_over_images_whatever_the_batch_sizes():
    model = ImageClassifier()
    loader = labelled_loader(count=70)  # batches of 16, 16, 16, 16 and 6 images
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=0, num_sanity_val_steps=0)
    trainer.validate(model, loader, verbose=False)
    images, labels = loader.dataset.tensors
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model(images), labels)
    assert float(trainer.callback_metrics["val/loss"]) == pytest.approx(float(expected), rel=1e-6)


def test_a_diverged_model_shows_a_nan_test_loss():
    model = ImageClassifier()
    with torch.no_grad():
        model.net.linear_relu_stack[0].weight[0, 0] = float("nan")
    quiet_trainer().test(model, labelled_loader(), verbose=False)
    assert model.trainer.callback_metrics["test/loss"].isnan()
