"""One training run of the Figure 1 network (_train), its data tensors, error rates, the mechanism record, pick_threads.

The recipe: SGD with momentum 0.9, batch 128 (layers-19pct's), a loss averaged over the
batch (cuda-convnet scales its step by eps / batch size, so its epsW = 0.001 is a PyTorch
lr of 0.001). Inputs are raw pixel values minus the training set's mean image, as in the
paper and in cuda-convnet's CIFAR data provider (``input_norm="unit-variance"`` also divides
each channel by its std). No weight decay, dropout or augmentation.

The measure. The paper plots "training error rate" per epoch; cuda-convnet reports the
error on the training batches as it trains, so the default measure ("running") is the
error of each batch's predictions made just before its update, averaged over the epoch.
The alternative ("post_epoch") is an evaluation pass after the epoch over a fixed subset
of the training set (10,000 images by default; all of them if ``eval_train_images`` is
None). Both are recorded; ``error_measure`` picks the one that decides "reached 25%".

The mechanism. At init and after every epoch, on a fixed batch of training images: the share
of each conv layer's units whose tanh is saturated (|tanh| > 0.9, where less than 19% of the
gradient gets through) and each layer's weight std (``_mechanism``).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from alexnet.relu_tanh.config import SATURATED, STALLED, ReluTanhConfig
from alexnet.relu_tanh.network import FourLayerNet, build_model
from alexnet.relu_tanh.summaries import epochs_to_target

__all__ = ["epochs_to_target", "pick_threads"]  # epochs_to_target lives in summaries (no torch); kept here too


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
    inv_std: torch.Tensor | None = None  # 1 / each channel's std (1, 3, 1, 1) for unit-variance inputs
    probe_x: torch.Tensor | None = None  # the fixed images the mechanism record is measured on

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().sub_(self.mean)
        if self.inv_std is not None:
            x.mul_(self.inv_std)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def _channel_inv_std(train_x: torch.Tensor, mean: torch.Tensor, chunk: int = 5000) -> torch.Tensor:
    """1 / the std of each channel of (images - mean image), over every training image and pixel."""
    total = torch.zeros(3, dtype=torch.float64)
    for i in range(0, len(train_x), chunk):  # in chunks: all 50,000 images in float64 would take 1.2 GB
        total += (train_x[i:i + chunk].double() - mean.double()).pow(2).sum(dim=(0, 2, 3))
    std = (total / (len(train_x) * train_x.shape[2] * train_x.shape[3])).sqrt()
    return (1.0 / std.clamp_min(1e-8)).float().view(1, 3, 1, 1)


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
    inv_std = _channel_inv_std(train_x, mean) if config.input_norm == "unit-variance" else None
    probe = train_x[: config.mechanism_images] if config.mechanism_images else None  # a random, class-mixed batch
    return _Data(train_x, train_y, eval_x, eval_y, data.test_images[te], data.test_labels[te], mean,
                 config.channels_last, inv_std, probe)


@torch.inference_mode()
def _error_rate(model: nn.Module, d: _Data, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    wrong = 0
    for i in range(0, len(y), batch):
        wrong += int((model(d.batch(x[i:i + batch])).argmax(1) != y[i:i + batch]).sum())
    model.train()
    return wrong / max(1, len(y))


@torch.inference_mode()
def _mechanism(model: FourLayerNet, d: _Data) -> dict:
    """Saturated share per conv layer (tanh networks: |tanh(conv output)| > SATURATED) and weight std per layer.

    Saturation is read on each conv's output before pooling, so conv1 counts all its 32x32x32 units although the
    network applies tanh after the max pool (the same function: both are monotone).
    """
    model.eval()
    saturated: dict[str, float | None] = {}
    x = d.batch(d.probe_x)
    k = 0
    for m in model.features:
        x = m(x)
        if isinstance(m, nn.Conv2d):
            k += 1
            if model.activation == "tanh":
                saturated[f"conv{k}"] = _finite(float((torch.tanh(x).abs() > SATURATED).float().mean()))
    model.train()
    return {"saturated": saturated,
            "weight_std": {name: _finite(float(layer.weight.detach().float().std()))
                           for name, layer in model.named_weight_layers()}}


def _finite(value: float) -> float | None:
    # A diverged network's weights are NaN, which JSON cannot hold.
    return round(value, 6) if math.isfinite(value) else None


def _record_mechanism(record: dict, epoch: int, now: dict) -> None:
    record["epochs"].append(epoch)
    for part in ("saturated", "weight_std"):
        for name, value in now[part].items():
            record[part].setdefault(name, []).append(value)


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
    mechanism: bool = False,
) -> dict:
    """Train one network; per-epoch running and post-epoch training error, loss, seconds.

    ``on_epoch`` gets the curve so far after every epoch (marked "interrupted"), so that a run
    stopped from outside still leaves its curve in the results file. ``mechanism`` adds the
    mechanism record (at epoch 0, the init, and after every epoch) where ``d`` has probe images.
    """
    model = build_model(config, activation, seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=config.momentum)
    g = torch.Generator().manual_seed(10_000 + seed)
    n, bs = len(d.train_y), config.batch_size
    curve: dict[str, Any] = {"running_error": [], "post_epoch_error": [], "loss": [], "seconds": []}
    record = None
    if mechanism and d.probe_x is not None:
        record = {"epochs": [], "saturated": {}, "weight_std": {}, "threshold": SATURATED, "images": len(d.probe_x)}
        _record_mechanism(record, 0, _mechanism(model, d))
        curve["mechanism"] = record
    diverged, reached_at, stopped, at_chance = False, None, "max_epochs", 0
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
        if record is not None:
            _record_mechanism(record, epoch, _mechanism(model, d))
        curve["seconds"].append(round(time.perf_counter() - t0, 2))
        tick(
            f"{activation} lr={lr:g} seed={seed} epoch {epoch}: running error {running:.3f}"
            + ("" if post is None else f", post-epoch {post:.3f}")
            + f", loss {loss_mean:.3f}, {n / train_s:.0f} img/s"
        )
        if on_epoch is not None:
            on_epoch({**json.loads(json.dumps(curve)), "diverged": diverged, "stopped": "interrupted",
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
        at_chance = at_chance + 1 if running >= STALLED else 0
        if stop_at_target and config.stall_epochs and at_chance >= config.stall_epochs:
            stopped = "stalled"
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
