"""One training run of the Figure 1 network (_train), its data tensors, error rates, epochs_to_target, pick_threads.

The recipe: SGD with momentum 0.9, batch 128 (layers-19pct's), a loss averaged over the
batch (cuda-convnet scales its step by eps / batch size, so its epsW = 0.001 is a PyTorch
lr of 0.001). Inputs are raw pixel values minus the training set's mean image, as in the
paper and in cuda-convnet's CIFAR data provider. No weight decay, dropout or augmentation.

The measure. The paper plots "training error rate" per epoch; cuda-convnet reports the
error on the training batches as it trains, so the default measure ("running") is the
error of each batch's predictions made just before its update, averaged over the epoch.
The alternative ("post_epoch") is a full evaluation pass after the epoch over a fixed
subset of the training set (all of it if ``eval_train_images`` is None). Both are
recorded; ``error_measure`` picks the one that decides "reached 25%" and the ratio.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from alexnet.relu_tanh.config import ReluTanhConfig
from alexnet.relu_tanh.network import build_model


@dataclass
class _Data:
    """Tensors one run needs: uint8 images stay uint8 until a batch is taken (no per-image Python)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    eval_x: torch.Tensor | None
    eval_y: torch.Tensor | None
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: torch.Tensor  # the training set's mean image, float (1, 3, 32, 32)
    channels_last: bool = True

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().sub_(self.mean)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def _prepare(data, config: ReluTanhConfig, train_images: int | None) -> _Data:
    g = torch.Generator().manual_seed(12345)  # one fixed subset for every run, so runs are comparable
    n = len(data.train_labels)
    order = torch.randperm(n, generator=g)
    tr = order[: train_images] if train_images is not None else torch.arange(n)
    train_x, train_y = data.train_images[tr], data.train_labels[tr]
    # The mean image of the images the network trains on (the paper subtracts the training set's mean image).
    mean = train_x.double().mean(0, keepdim=True).float()
    eval_x = eval_y = None
    if config.eval_train_images != 0:
        k = len(train_x) if config.eval_train_images is None else min(config.eval_train_images, len(train_x))
        eval_x, eval_y = train_x[:k], train_y[:k]  # train_x is already a random order: a class-mixed subset
    nt = len(data.test_labels)
    te = torch.arange(nt) if config.test_images is None else torch.randperm(nt, generator=g)[: config.test_images]
    return _Data(train_x, train_y, eval_x, eval_y, data.test_images[te], data.test_labels[te], mean,
                 config.channels_last)


@torch.inference_mode()
def _error_rate(model: nn.Module, d: _Data, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    wrong = 0
    for i in range(0, len(y), batch):
        wrong += int((model(d.batch(x[i:i + batch])).argmax(1) != y[i:i + batch]).sum())
    model.train()
    return wrong / max(1, len(y))


def epochs_to_target(errors: list[float | None], target: float = 0.25) -> tuple[int | None, float | None]:
    """(first epoch, 1-based, whose error is <= target; the same with linear interpolation between epochs).

    Epoch 0 is the untrained network at error 0.9 (ten classes), which anchors the interpolation of epoch 1.
    """
    prev = 0.9
    for i, e in enumerate(errors):
        if e is not None and e <= target:
            frac = (prev - target) / (prev - e) if prev > e else 1.0
            return i + 1, round(i + min(1.0, max(0.0, frac)), 3)
        if e is not None:
            prev = e
    return None, None


def _train(
    d: _Data,
    config: ReluTanhConfig,
    activation: str,
    lr: float,
    seed: int,
    epochs: int,
    stop_at_target: bool,
    tick: Callable[[str], None],
    measure_test: bool = True,
    on_epoch: Callable[[dict], None] | None = None,
) -> dict:
    """Train one network; per-epoch running and post-epoch training error, loss, seconds.

    ``on_epoch`` gets the curve so far after every epoch (marked "interrupted"), so that a run
    stopped from outside still leaves its curve in the results file.
    """
    model = build_model(config, activation, seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=config.momentum)
    g = torch.Generator().manual_seed(10_000 + seed)
    n, bs = len(d.train_y), config.batch_size
    curve: dict[str, list] = {"running_error": [], "post_epoch_error": [], "loss": [], "seconds": []}
    diverged, reached_at, stopped = False, None, "max_epochs"
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        wrong, loss_sum = 0, 0.0
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            y = d.train_y[idx]
            out = model(d.batch(d.train_x[idx]))
            loss = F.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            wrong += int((out.detach().argmax(1) != y).sum())
            loss_sum += float(loss.detach()) * len(idx)
        train_s = time.perf_counter() - t0
        loss_mean = loss_sum / n
        if not math.isfinite(loss_mean):
            diverged = True
        running = 1.0 if diverged else wrong / n
        post = None
        if d.eval_x is not None:
            post = 1.0 if diverged else _error_rate(model, d, d.eval_x, d.eval_y)
        curve["running_error"].append(round(running, 5))
        curve["post_epoch_error"].append(None if post is None else round(post, 5))
        curve["loss"].append(round(loss_mean, 5) if math.isfinite(loss_mean) else None)
        curve["seconds"].append(round(time.perf_counter() - t0, 2))
        tick(
            f"{activation} lr={lr:g} seed={seed} epoch {epoch}: running error {running:.3f}"
            + ("" if post is None else f", post-epoch {post:.3f}")
            + f", loss {loss_mean:.3f}, {n / train_s:.0f} img/s"
        )
        if on_epoch is not None:
            on_epoch({**{k: list(v) for k, v in curve.items()}, "diverged": diverged, "stopped": "interrupted",
                      "test_error": None})
        if diverged:
            stopped = "diverged"
            break
        decision = running if config.error_measure == "running" else post
        if reached_at is None and decision is not None and decision <= config.target_error:
            reached_at = epoch
        if stop_at_target and reached_at is not None and epoch >= reached_at + config.epochs_after_target:
            stopped = "target"
            break
    curve["diverged"] = diverged
    curve["stopped"] = stopped
    curve["test_error"] = (
        round(_error_rate(model, d, d.test_x, d.test_y), 5) if measure_test and not diverged else None
    )
    return curve


# --- the experiment -----------------------------------------------------------------------------------------


def pick_threads(config: ReluTanhConfig) -> int:
    """``config.threads``, or for 0 the faster of 1 and 2 threads on a few training steps of this network."""
    if config.threads > 0:
        return config.threads
    if (os.cpu_count() or 1) < 2:
        return 1
    best, best_rate = 1, 0.0
    x = torch.randn(config.batch_size, 3, 32, 32)
    y = torch.randint(0, 10, (config.batch_size,))
    if config.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model = build_model(config, "relu", 0)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        rates = []
        for rep in range(4):
            t = time.perf_counter()
            for _ in range(3):
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
            if rep:  # the first repetition warms up
                rates.append(3 * config.batch_size / (time.perf_counter() - t))
        rate = sorted(rates)[len(rates) // 2]
        if rate > best_rate:
            best, best_rate = threads, rate
    return best
