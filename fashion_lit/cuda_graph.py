"""The training step as one CUDA graph: forward, backward and the SGD update, replayed.

On a GPU this network is too small to keep the device busy: a training step is a few
dozen tiny kernels, and launching each from Python costs more than running it. Captured
once as a ``torch.cuda.CUDAGraph``, the whole step is a single launch per batch
(``--model.cuda_graph true``). Lightning still runs the loop (progress, logging,
validation, checkpoints, the learning-rate schedule, resume): the module's
``training_step`` copies the batch into the graph's input buffers and replays it; the
weights are already updated when Lightning's optimizer step comes, which then finds no
gradients (the graph keeps them to itself) and changes nothing.

The update is ``torch.optim.SGD``'s own algorithm (weight decay, momentum, dampening,
Nesterov, maximize) written with tensor operations that read the learning rate and the
momentum from one-element tensors on the GPU, refilled from the optimizer's
``param_groups`` before every replay: a graph bakes Python numbers into its kernels, and
``SGD`` passes its rate as a number (its fused variant takes a tensor rate, but not a
tensor momentum, which the tuned recipe's one-cycle schedule also changes every step).
The momentum buffers are the optimizer's own state, so checkpoints, resume and a switch
back to the eager step all see them.

What it does not support is refused before training starts: devices other than one CUDA
GPU (DDP included), optimizers other than SGD, mixed precision, gradient accumulation or
clipping, and ``model.compile`` (which captures graphs of its own).
"""

from collections.abc import Callable

import torch
from torch import Tensor, nn

#: Eager steps before the capture, on a side stream, as PyTorch's CUDA-graph guide advises:
#: they create the momentum buffers and let cuBLAS and the allocator settle.
WARMUP_STEPS = 3


class CudaGraphUnsupportedError(ValueError):
    """The run asks for ``model.cuda_graph`` with something the graphed step cannot do."""


def sgd_update(
    params: list[Tensor],
    grads: tuple[Tensor, ...],
    buffers: list[Tensor | None],
    lr: Tensor,
    momentum: Tensor,
    *,
    uses_momentum: bool,
    weight_decay: float,
    dampening: float,
    nesterov: bool,
    maximize: bool,
) -> list[Tensor | None]:
    """One step of ``torch.optim.SGD`` (its documented algorithm), in place, with the
    learning rate and momentum read from tensors; returns the momentum buffers (new ones
    on the first step, as SGD creates them)."""
    updated: list[Tensor | None] = []
    for param, grad, buffer in zip(params, grads, buffers, strict=True):
        step = -grad if maximize else grad
        if weight_decay != 0:
            step = step.add(param, alpha=weight_decay)
        if uses_momentum:
            if buffer is None:
                buffer = step.detach().clone()
            else:
                buffer.mul_(momentum).add_(step, alpha=1 - dampening)
            step = step.addcmul(buffer, momentum) if nesterov else buffer
        param.addcmul_(step, lr, value=-1)
        updated.append(buffer)
    return updated


class GraphedTrainingStep:
    """Forward, loss, backward and SGD update of one batch, captured once and replayed.

    Args:
        net: the network, on the GPU.
        criterion: the loss, e.g. ``nn.CrossEntropyLoss``.
        optimizer: the run's ``torch.optim.SGD``, one parameter group; its
            ``param_groups`` are read before every step (the schedule changes them) and its
            ``state`` holds the momentum buffers.
        capture: ``False`` runs the very same step eagerly, without a graph (on any
            device): how the update is checked against ``torch.optim.SGD`` on a CPU.

    Batches of another size than the first (the last, partial batch of an epoch) run the
    same step eagerly.
    """

    def __init__(
        self,
        net: nn.Module,
        criterion: Callable[[Tensor, Tensor], Tensor],
        optimizer: torch.optim.Optimizer,
        capture: bool = True,
    ) -> None:
        if type(optimizer) is not torch.optim.SGD or len(optimizer.param_groups) != 1:
            raise CudaGraphUnsupportedError(
                "model.cuda_graph supports torch.optim.SGD with one parameter group (the "
                f"quickstart's and the tuned recipe's optimizer); this run uses "
                f"{type(optimizer).__module__}.{type(optimizer).__name__}. Use SGD, or drop "
                "--model.cuda_graph."
            )
        self.net, self.criterion, self.optimizer = net, criterion, optimizer
        self.group = optimizer.param_groups[0]
        self.params = list(self.group["params"])
        device = self.params[0].device
        self.lr = torch.zeros((), device=device)
        self.momentum = torch.zeros((), device=device)
        self.constants = self._constants()
        self.capture = capture
        self.steps = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.batch_shape: torch.Size | None = None
        self.static: dict[str, Tensor] = {}

    def _constants(self) -> dict:
        group = self.group
        return {
            "uses_momentum": group["momentum"] != 0,
            "weight_decay": group["weight_decay"],
            "dampening": group["dampening"],
            "nesterov": group["nesterov"],
            "maximize": group["maximize"],
        }

    def __call__(self, images: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """Train on one batch; returns its loss and predicted classes (new tensors)."""
        if self._constants() != self.constants:
            raise CudaGraphUnsupportedError(
                f"model.cuda_graph: the optimizer's settings changed during training "
                f"(from {self.constants} to {self._constants()}); the graph follows the "
                "learning rate and the momentum only."
            )
        # Python numbers or tensors, as the schedule leaves them: copied on the device.
        self.lr.fill_(self.group["lr"])
        self.momentum.fill_(self.group["momentum"])
        if self.batch_shape is None:
            self.batch_shape = images.shape
        self.steps += 1
        if not self.capture or images.shape != self.batch_shape:
            return self._step(images, targets)
        if self.steps <= WARMUP_STEPS:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                loss, predicted = self._step(images, targets)
            torch.cuda.current_stream().wait_stream(side)
            return loss, predicted
        if self.graph is None:
            self._capture(images, targets)
        self.static["images"].copy_(images)
        self.static["targets"].copy_(targets)
        self.graph.replay()
        return self.static["loss"].clone(), self.static["predicted"].clone()

    def _capture(self, images: Tensor, targets: Tensor) -> None:
        self.static["images"] = torch.empty_like(images)
        self.static["targets"] = torch.empty_like(targets)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            loss, predicted = self._step(self.static["images"], self.static["targets"])
        self.static["loss"], self.static["predicted"] = loss, predicted

    def _step(self, images: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            logits = self.net(images)
            loss = self.criterion(logits, targets)
            grads = torch.autograd.grad(loss, self.params)
        state = self.optimizer.state
        with torch.no_grad():
            buffers = sgd_update(
                self.params,
                grads,
                [state[p].get("momentum_buffer") for p in self.params],
                self.lr,
                self.momentum,
                **self.constants,
            )
        if self.constants["uses_momentum"]:
            for param, buffer in zip(self.params, buffers, strict=True):
                state[param]["momentum_buffer"] = buffer
        return loss.detach(), logits.argmax(dim=1)


def check_supported(trainer, module: nn.Module) -> None:
    """Refuse, before training, what the graphed step cannot do (see the module docstring)."""
    device = trainer.strategy.root_device
    problems = []
    if device.type != "cuda":
        problems.append(
            f"it needs a CUDA GPU, and this run is on the {device.type.upper()}: run on a "
            "machine with one, with --trainer.accelerator cuda (or auto)"
        )
    if trainer.world_size != 1:
        problems.append(f"it supports one device, and this run has {trainer.world_size}")
    if str(trainer.precision) != "32-true":
        problems.append(f"it supports precision 32-true, not {trainer.precision}")
    if trainer.accumulate_grad_batches != 1:
        problems.append("it does not accumulate gradients (trainer.accumulate_grad_batches)")
    if trainer.gradient_clip_val:
        problems.append("it does not clip gradients (trainer.gradient_clip_val)")
    if module.hparams.get("compile"):
        problems.append("model.compile captures graphs of its own: choose one of the two")
    if problems:
        raise CudaGraphUnsupportedError(
            "--model.cuda_graph true is refused: "
            + "; ".join(problems)
            + ". Drop --model.cuda_graph to train with the eager step."
        )
