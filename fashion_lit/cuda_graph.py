"""The training step as one CUDA graph: forward, backward and the SGD update, replayed.

A step of this small network is dozens of tiny kernels, each costing more to launch from
Python than to run; captured as a ``torch.cuda.CUDAGraph`` it is one launch per batch
(``--model.cuda_graph true``). Lightning still runs the loop; ``training_step`` replays
the graph, so Lightning's optimizer step then finds no gradients and changes nothing.

The update is ``torch.optim.SGD``'s algorithm in tensor operations that read the learning
rate and momentum from GPU tensors refilled before every replay: a graph bakes Python
numbers in, and even fused SGD takes no tensor momentum (which one-cycle changes). The
momentum buffers are the optimizer's state, so checkpoints and resume see them. What it
cannot do (not one CUDA GPU, not SGD, mixed precision, accumulation, clipping,
``model.compile``) is refused before training.
"""

from collections.abc import Callable

import torch
from torch import Tensor, nn

from fashion_lit.steps import StepUnsupportedError

#: Eager steps before the capture, on a side stream, as PyTorch's CUDA-graph guide advises:
#: they create the momentum buffers and let cuBLAS and the allocator settle.
WARMUP_STEPS = 3


class CudaGraphUnsupportedError(StepUnsupportedError):
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

    ``optimizer`` (one ``SGD`` group) is read before every step, as the schedule changes
    it, and holds the momentum buffers. ``capture=False`` runs the same step eagerly, on
    any device: how it is checked against ``torch.optim.SGD`` on a CPU. Batches of another
    size than the first (an epoch's last) run eagerly too.
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
    """Refuse, before training, what the graphed step cannot do (see the module docstring),
    naming the option that asked for it."""
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
        if module.hparams.get("cuda_graph"):
            asked, drop = "--model.cuda_graph true", "--model.cuda_graph"
        else:
            asked = drop = "--model.step cuda_graph"
        raise CudaGraphUnsupportedError(
            f"{asked} is refused: {'; '.join(problems)}. Drop {drop} to train with the eager step."
        )
