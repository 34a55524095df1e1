"""The LightningModule: the tutorial's loss and optimizer around any classifier network.

The network is passed in (``net``) rather than built here, as in
lightning-hydra-template, so it stays a plain ``nn.Module`` that can be tested, exported
and loaded alone. Train, validation and test steps share one ``model_step``.
"""

from typing import Any, Protocol

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from fashion_lit import metrics
from fashion_lit.batches import IMAGE, PREDICTED, labelled, prediction
from fashion_lit.cuda_graph import GraphedTrainingStep, check_supported
from fashion_lit.network import NeuralNetwork
from fashion_lit.steps import (
    AUTOMATIC,
    CUDA_GRAPH,
    EpochSums,
    Step,
    carry_step_count,
    resolve_step,
)


class RunScheduleCallable(Protocol):
    """Builds a learning-rate schedule that spans the whole run, stepped after every batch.

    Called with the optimizer and ``total_steps``, the run's number of optimizer steps
    (Lightning's ``trainer.estimated_stepping_batches``), so that a config names the
    schedule's shape alone — ``torch.optim.lr_scheduler.OneCycleLR`` with its ``max_lr`` —
    and it stays right whatever the epochs, batch size or number of processes.
    """

    def __call__(self, optimizer: Optimizer, *, total_steps: int) -> LRScheduler: ...


class ScheduleLengthError(ValueError):
    """A resumed run whose learning-rate schedule was planned for another number of steps."""


class ImageClassifier(LightningModule):
    """Cross-entropy classification with one accuracy metric per stage.

    Args:
        net: the network; the tutorial's ``NeuralNetwork`` when not given.
        optimizer: builds the optimizer from the parameters. The default, SGD with
            PyTorch's default learning rate 1e-3, is the tutorial's. In a config it is a
            class path with its arguments, e.g. ``torch.optim.AdamW`` with ``lr: 3e-4``.
        num_classes: the number of output classes of ``net``.
        lr_scheduler: a learning-rate schedule over the whole run (see
            :class:`RunScheduleCallable`), e.g. ``torch.optim.lr_scheduler.OneCycleLR``
            with ``max_lr: 0.1``. None, the tutorial's choice, keeps the optimizer's rate.
        label_smoothing: CrossEntropyLoss's label smoothing; 0, the tutorial's, is none.
        compile: compile the network with ``torch.compile`` (``mode="reduce-overhead"``,
            which captures CUDA graphs on a GPU). It pays off on a GPU, where this small
            network is bound by per-step launch overhead; on a CPU it only adds start-up time.
        cuda_graph: the same as ``step: cuda_graph``, kept for the configs and
            checkpoints that hold it.
        step: how a training step runs (see :mod:`fashion_lit.steps`): ``automatic``
            (Lightning's automatic optimisation), ``lean`` (manual optimisation, the same
            arithmetic with less Python per step), ``cuda_graph`` (``lean`` with the whole
            step — forward, backward, SGD update — captured as one CUDA graph and replayed
            per batch, see :mod:`fashion_lit.cuda_graph`: one GPU, SGD only; refused
            elsewhere with the reason), or ``auto``: ``lean``, or ``automatic`` when an
            option ``lean`` cannot honour (clipping, accumulation) is set.
    """

    def __init__(
        self,
        net: nn.Module | None = None,
        optimizer: OptimizerCallable = torch.optim.SGD,
        num_classes: int = 10,
        lr_scheduler: RunScheduleCallable | None = None,
        label_smoothing: float = 0.0,
        compile: bool = False,
        cuda_graph: bool = False,
        step: Step = "auto",
    ) -> None:
        super().__init__()
        # The network's weights are saved with the checkpoint; its class_path and
        # init_args, under hparams "net", by the CLI that built it from the config.
        # How LightningCLI built the model (_instantiator) is of no use to a reader of
        # hparams.yaml; fashion_lit rebuilds a model from its checkpoint itself.
        self.save_hyperparameters(ignore=["net", "_instantiator"])
        self.net = net if net is not None else NeuralNetwork()
        self.optimizer_factory = optimizer
        self.lr_scheduler_factory = lr_scheduler
        self.criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        # The inputs are our own argmax outputs, always valid: skipping torchmetrics'
        # argument checks saves work, and on a GPU a host synchronisation, every step.
        accuracy = {"num_classes": num_classes, "average": "micro", "validate_args": False}
        # Mean losses over the images, exact across processes (a rank's batches may differ
        # in number and size): sync_dist would average the ranks' means instead. The
        # losses are our own, so the NaN check is off: it reads every loss on the host (a
        # GPU synchronisation per step), and it would drop a NaN loss with a warning,
        # where a diverged model should show NaN.
        self.train_loss = MeanMetric(nan_strategy="disable")
        self.train_acc = MulticlassAccuracy(**accuracy)
        self.val_loss = MeanMetric(nan_strategy="disable")
        self.val_acc = MulticlassAccuracy(**accuracy)
        self.test_loss = MeanMetric(nan_strategy="disable")
        self.test_acc = MulticlassAccuracy(**accuracy)
        # Saved with the weights, so that a resumed run keeps the best accuracy so far.
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)
        # Lets Lightning summarise layer shapes and TensorBoard draw the graph.
        self.example_input_array = torch.zeros(1, 1, 28, 28)
        self.graphed_step: GraphedTrainingStep | None = None
        self._planned_steps: list[int | None] = []
        self.epoch_sums = EpochSums()  # the lean steps' running loss and accuracy
        # The step mode of the attached trainer's fit, chosen when Lightning first asks.
        self.step_in_use: str | None = None
        # Whether the lean step may call backward itself (see on_fit_start).
        self.plain_backward = False

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning notes the hook it is in (_current_fx_name) some 25 times a training
        # step. nn.Module.__setattr__ first checks each value against its parameter,
        # module and buffer types, through Python-level isinstance hooks: about 2 µs a
        # time, 3% of the tutorial network's step on a CPU. A hook's name is none of those.
        # (The name is Lightning's own: were it renamed, this shortcut would go unused.)
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    @property
    def trainer(self) -> Trainer:
        return LightningModule.trainer.fget(self)

    @trainer.setter
    def trainer(self, trainer: Trainer | None) -> None:
        LightningModule.trainer.fset(self, trainer)
        self.step_in_use = None  # a new trainer's options choose again

    @property
    def automatic_optimization(self) -> bool:
        """Lightning's automatic optimisation, or manual (the lean steps), as
        ``--model.step`` and the trainer's options decide (:func:`resolve_step`)."""
        return self.step_mode() == AUTOMATIC

    @automatic_optimization.setter
    def automatic_optimization(self, automatic: bool) -> None:
        raise AttributeError("set --model.step instead of automatic_optimization")

    def step_mode(self) -> str:
        """``automatic``, ``lean`` or ``cuda_graph``: how this fit's steps run."""
        if self.step_in_use is None:
            try:
                trainer = self.trainer
            except RuntimeError:  # not attached to a trainer
                return AUTOMATIC
            if trainer.state.fn != "fit":
                return AUTOMATIC  # evaluation: no step, and nothing to announce
            self.step_in_use = resolve_step(self.hparams.step, self.hparams.cuda_graph, trainer)
        return self.step_in_use

    def configure_model(self) -> None:
        if self.hparams.compile:
            # In place, so the state_dict keys stay the tutorial's (no "_orig_mod." prefix).
            self.net.compile(mode="reduce-overhead")

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def model_step(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Loss, predicted classes and targets of one labelled batch."""
        x, y = labelled(batch)
        logits = self(x)
        return self.criterion(logits, y), logits.argmax(dim=1), y

    def on_fit_start(self) -> None:
        if self.step_mode() == CUDA_GRAPH:
            check_supported(self.trainer, self)
        # One process in full precision: backward is loss.backward(), without the hooks
        # around it. Under DDP (which syncs gradients there) or with a gradient scaler,
        # Lightning's manual_backward does what is needed.
        trainer = self.trainer
        self.plain_backward = trainer.world_size == 1 and str(trainer.precision) == "32-true"

    def on_train_start(self) -> None:
        # The sanity check has already fed the validation accuracy; start it afresh.
        # (val_acc_best never sees the sanity check, and on a resumed run holds the best so far.)
        self.val_loss.reset()
        self.val_acc.reset()

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        if not self.automatic_optimization:
            return self.lean_training_step(batch, batch_idx)
        loss, preds, targets = self.model_step(batch)
        # A self.log call costs about a millisecond of Python, as much as the step's
        # arithmetic on a CPU. So each step only updates the epoch's metrics (tensor
        # operations, no host synchronisation), and the step loss goes to the logger at
        # its cadence (trainer.log_every_n_steps) only; the progress bar reads it when it
        # redraws (fashion_lit.callbacks.progress), not after every step.
        self.train_loss.update(per_image(loss.detach(), targets))
        self.train_acc.update(preds, targets)
        if (batch_idx + 1) % self.trainer.log_every_n_steps == 0:
            self.log(metrics.TRAIN_LOSS_STEP, loss)
        return loss

    def lean_training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """The automatic step's arithmetic, called directly: backward, the optimizer's
        step (through Lightning's wrapper, which counts ``global_step``), zero_grad, then
        the schedule's step, as Lightning orders them; the epoch's sums stay on the device.
        Callbacks' ``on_before_zero_grad`` hooks are not called, nor, on one process,
        ``on_before_backward``/``on_after_backward``: ``--model.step automatic`` calls them."""
        optimizer = self.optimizers()
        if self.step_in_use == CUDA_GRAPH:
            loss, preds, targets = self.graphed_model_step(batch)
        else:
            loss, preds, targets = self.model_step(batch)
            if self.plain_backward:
                loss.backward()
            else:
                self.manual_backward(loss)
        optimizer.step()  # after the graph's own update it finds no gradients: a count
        optimizer.optimizer.zero_grad()
        scheduler = self.lr_schedulers()
        if scheduler is not None:
            scheduler.step()
        self.epoch_sums.update(loss, preds, targets)
        if (batch_idx + 1) % self.trainer.log_every_n_steps == 0:
            self.log(metrics.TRAIN_LOSS_STEP, loss)
        return loss

    def graphed_model_step(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """``model_step`` and the optimizer's update, replayed as one CUDA graph.

        The graph has updated the weights when it returns: there is nothing to backward,
        and the optimizer's step finds no gradients to apply.
        """
        if self.graphed_step is None:
            optimizer = self.trainer.optimizers[0]
            self.graphed_step = GraphedTrainingStep(self.net, self.criterion, optimizer)
        images, targets = labelled(batch)
        loss, preds = self.graphed_step(images, targets)
        return loss, preds, targets

    def on_train_epoch_end(self) -> None:
        # Logged as metrics, Lightning computes them (synchronised across processes) and
        # resets them; the lean steps' sums are summed over the processes once, here. The
        # learning rate is the same on every process.
        if self.automatic_optimization:
            self.log(metrics.TRAIN_LOSS, self.train_loss)
            self.log(metrics.TRAIN_ACC, self.train_acc)
        else:
            means = self.epoch_sums.read(self.trainer)
            if means is not None:
                self.log(metrics.TRAIN_LOSS, means[0])
                self.log(metrics.TRAIN_ACC, means[1])
        self.log(metrics.TRAIN_LR, self.trainer.optimizers[0].param_groups[0]["lr"], sync_dist=True)

    # Evaluation as training: each step only updates the metrics, and the epoch's values
    # are logged once, at its end.

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> dict[str, Tensor]:
        loss, preds, targets = self.model_step(batch)
        self.val_loss.update(per_image(loss, targets))
        self.val_acc.update(preds, targets)
        return {PREDICTED: preds}  # for callbacks such as EvaluationImages

    def on_validation_epoch_end(self) -> None:
        self.log(metrics.VAL_LOSS, self.val_loss, prog_bar=True)
        self.log(metrics.VAL_ACC, self.val_acc, prog_bar=True)
        if self.trainer.sanity_checking:
            return
        # compute() keeps its result until the next update, so Lightning's own compute of
        # the logged val/acc reuses this one.
        self.val_acc_best.update(self.val_acc.compute())
        self.log(metrics.VAL_ACC_BEST, self.val_acc_best.compute(), sync_dist=True)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> dict[str, Tensor]:
        loss, preds, targets = self.model_step(batch)
        self.test_loss.update(per_image(loss, targets))
        self.test_acc.update(preds, targets)
        return {PREDICTED: preds}

    def on_test_epoch_end(self) -> None:
        self.log(metrics.TEST_LOSS, self.test_loss)
        self.log(metrics.TEST_ACC, self.test_acc)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        """Class index and probabilities for each image of a predict batch
        (:mod:`fashion_lit.batches`), with what identifies each image, for the writer."""
        return prediction(self(batch[IMAGE]).softmax(dim=1), batch)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        carry_step_count(checkpoint)
        # Read before configure_optimizers when a fit resumes: the length that a schedule
        # such as OneCycleLR was planned for (its state keeps it, and stepping past it fails).
        self._planned_steps = [
            state.get("total_steps") for state in checkpoint.get("lr_schedulers", [])
        ]

    def configure_optimizers(self) -> Optimizer | dict[str, Any]:
        optimizer = self.optimizer_factory(self.parameters())
        if self.lr_scheduler_factory is None:
            return optimizer
        total_steps = int(self.trainer.estimated_stepping_batches)
        planned = next((steps for steps in self._planned_steps if steps is not None), None)
        if planned is not None and planned != total_steps:
            raise ScheduleLengthError(
                f"--ckpt_path: the run's learning-rate schedule was planned for {planned} "
                f"steps and this fit would take {total_steps} (another --trainer.max_epochs, "
                "batch size or data set): a one-cycle schedule cannot be stretched. Resume "
                "with the run's own settings, or fit a new run with the longer schedule."
            )
        scheduler = self.lr_scheduler_factory(optimizer, total_steps=total_steps)
        schedule = {"scheduler": scheduler, "interval": "step"}
        return {"optimizer": optimizer, "lr_scheduler": schedule}


def per_image(loss: Tensor, targets: Tensor) -> Tensor:
    """A batch's mean loss once per image, so that a ``MeanMetric`` averages over images.

    The same as ``update(loss, weight=len(targets))``, which ``nan_strategy="disable"``
    would get wrong: torchmetrics 1.9 then drops the weight (Lightning-AI/torchmetrics#3434)
    and averages the batches' means, over-weighting a short last batch.
    """
    return loss.expand(len(targets))
