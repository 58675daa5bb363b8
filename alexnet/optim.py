"""The paper's optimiser and learning-rate schedule.

Krizhevsky et al. 2012, section 5: stochastic gradient descent with batch 128,
momentum 0.9 and weight decay 0.0005, with the update

    v <- 0.9 * v - 0.0005 * lr * w - lr * dL/dw
    w <- w + v

The learning rate sits *inside* the velocity. ``torch.optim.SGD`` keeps a
buffer of raw gradients ``b <- 0.9 b + (g + wd * w)`` and steps ``w <- w - lr * b``:
its velocity is ``-lr * b``, the same numbers while the learning rate is
constant, but after a learning-rate drop torch rescales the whole remembered
momentum by the new rate at once, while the paper's velocity keeps what it had
and only new contributions are scaled down. ``PaperSGD`` implements the paper's
rule; ``make_optimizer`` picks either.

The schedule: "divide the learning rate by 10 when the validation error rate
stopped improving with the current learning rate ... reduced three times prior
to termination" (``PlateauSchedule``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from alexnet.config import TrainConfig


class PaperSGD(torch.optim.Optimizer):
    """SGD with momentum and weight decay exactly as in section 5 of the paper.

    Per parameter ``w`` with gradient ``g``::

        v <- momentum * v - weight_decay * lr * w - lr * g
        w <- w + v

    ``v`` starts at zero and is kept in ``state[p]["velocity"]``.
    """

    def __init__(self, params: Iterable[Any], lr: float = 0.01, momentum: float = 0.9,
                 weight_decay: float = 5e-4):
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                velocity: Tensor = state.get("velocity")
                if velocity is None:
                    velocity = state["velocity"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                # v = momentum*v - decay*lr*w - lr*g, in place and in this order of operations
                velocity.mul_(momentum).add_(p, alpha=-decay * lr).add_(p.grad, alpha=-lr)
                p.add_(velocity)
        return loss


def make_optimizer(params: Iterable[Any], config: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser ``config.update_rule`` names: ``"paper"`` (PaperSGD) or ``"torch"`` (torch.optim.SGD)."""
    if config.update_rule == "paper":
        return PaperSGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.update_rule == "torch":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    raise ValueError(f"unknown update rule {config.update_rule!r}")


class PlateauSchedule:
    """Divide the learning rate by ``factor`` when validation error has not improved for ``patience`` epochs.

    Call ``step(val_error)`` once per epoch after validation. An epoch
    "improves" when its error is strictly below the best seen so far. After
    ``patience`` epochs in a row without improvement the learning rate of every
    parameter group is divided by ``factor`` and the count restarts (the paper
    judged improvement "with the current learning rate"); after ``max_drops``
    drops the rate stays put. The state is plain numbers (``state_dict``), so it
    goes into checkpoints read with ``weights_only=True``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, *, factor: float = 10.0, patience: int = 5,
                 max_drops: int = 3):
        if factor <= 1:
            raise ValueError(f"factor must be above 1, got {factor}")
        self.optimizer = optimizer
        self.factor = float(factor)
        self.patience = int(patience)
        self.max_drops = int(max_drops)
        self.best = math.inf
        self.epochs_without_improvement = 0
        self.drops = 0

    @classmethod
    def from_config(cls, optimizer: torch.optim.Optimizer, config: TrainConfig) -> PlateauSchedule:
        return cls(optimizer, factor=config.lr_drop_factor, patience=config.plateau_patience,
                   max_drops=config.max_lr_drops)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def step(self, val_error: float) -> bool:
        """Record one epoch's validation error; returns True when the learning rate was just dropped."""
        if val_error < self.best:
            self.best = float(val_error)
            self.epochs_without_improvement = 0
            return False
        self.epochs_without_improvement += 1
        if self.epochs_without_improvement >= self.patience and self.drops < self.max_drops:
            for group in self.optimizer.param_groups:
                group["lr"] = group["lr"] / self.factor
            self.drops += 1
            self.epochs_without_improvement = 0
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "patience": self.patience,
            "max_drops": self.max_drops,
            "best": self.best,
            "epochs_without_improvement": self.epochs_without_improvement,
            "drops": self.drops,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the counters; factor, patience and max_drops stay as constructed (from the config)."""
        self.best = float(state["best"])
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
        self.drops = int(state["drops"])
