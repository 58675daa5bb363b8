"""Figure 1 of Krizhevsky, Sutskever & Hinton (2012): ReLU against tanh on CIFAR-10.

The paper (Section 3.1, Figure 1): "A four-layer convolutional neural network
with ReLUs (solid line) reaches a 25% training error rate on CIFAR-10 six times
faster than an equivalent network with tanh neurons (dashed line). The learning
rates for each network were chosen independently to make training as fast as
possible. No regularization of any kind was employed."

The network. The paper does not give it. The closest published configuration
of the authors' own code is cuda-convnet's example "layers-19pct" (four weight
layers): conv 32 5x5 -> max pool 3/2 -> conv 32 5x5 -> avg pool 3/2 ->
conv 64 5x5 -> avg pool 3/2 -> fc 10, with the activation after each conv
(after the max pool in conv1's case, which is the same thing for a monotone
activation and cheaper). Padding 2 on the convolutions and pools that round
up (cuda-convnet's ``outputsX = ceil((size - 3) / 2) + 1``) keep the maps at
32 -> 16 -> 8 -> 4 as in layers-19pct. Its initialisation (``initW``): conv1
weights N(0, 1e-4), conv2/conv3/fc N(0, 1e-2), biases 0. Inputs are raw pixel
values minus the training set's mean image, as in the paper and in
cuda-convnet's CIFAR data provider. No weight decay, dropout or augmentation.
Every piece is a config field, so the user can change it.

The recipe. SGD with momentum 0.9, batch 128 (layers-19pct's), a loss averaged
over the batch (cuda-convnet scales its step by eps / batch size, so its
epsW = 0.001 is a PyTorch lr of 0.001). Each activation gets its own learning
rate from a short sweep over a log grid (the paper: "chosen independently to
make training as fast as possible"): every rate trains for a few epochs on a
subset, the one with the lowest training error at the end wins; a winner at the
edge of the grid extends the grid. The whole sweep is recorded.

The measure. The paper plots "training error rate" per epoch; cuda-convnet
reports the error on the training batches as it trains, so the default measure
("running") is the error of each batch's predictions made just before its
update, averaged over the epoch. The alternative ("post_epoch") is a full
evaluation pass after the epoch over a fixed subset of the training set (all of
it if ``eval_train_images`` is None). Both are recorded; ``error_measure``
picks the one that decides "reached 25%" and the ratio.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from alexnet.checkpoint import atomic_write_text
from alexnet.errors import DataError
from alexnet.paths import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "results" / "relu_tanh"
RESULTS_FORMAT = "alexnet-explorer/relu-tanh/1"
ACTIVATIONS = ("relu", "tanh")
MEASURES = ("running", "post_epoch")

Progress = Callable[[float, str], None]

__all__ = [
    "RESULTS_DIR",
    "Condition",
    "FourLayerNet",
    "ReluTanhConfig",
    "curves_table",
    "epochs_to_target",
    "conditions_figure",
    "load_results",
    "matplotlib_figure",
    "plotly_figure",
    "ratio_table",
    "run_experiment",
    "sweep_figure",
]


@dataclass(frozen=True)
class Condition:
    """A variation of the experiment for the condition study: a name and ReluTanhConfig fields to override."""

    name: str
    overrides: tuple[tuple[str, Any], ...]
    note: str = ""


# Conditions that plausibly move the tanh/ReLU ratio; each is rerun with its own learning-rate sweep.
KNOWN_CONDITIONS: dict[str, Condition] = {
    "pytorch-init": Condition(
        "pytorch-init", (("init", "pytorch"),),
        "PyTorch's default init (Kaiming-uniform, a=sqrt(5)) instead of layers-19pct's tiny Gaussians",
    ),
    "init-x10": Condition("init-x10", (("init_scale", 10.0),), "layers-19pct init with every std times 10"),
    "no-momentum": Condition("no-momentum", (("momentum", 0.0),), "plain SGD (momentum 0)"),
    "shared-lr": Condition(
        "shared-lr", (("shared_lr", True),),
        "one learning rate for both activations: the one ReLU's sweep picks (no separate choice for tanh)",
    ),
    "lrn": Condition(
        "lrn", (("lrn", True),),
        "local response normalisation after the first two pooled layers (the paper's 13% -> 11% claim)",
    ),
}


def condition(name: str) -> Condition:
    """A condition by name: one of KNOWN_CONDITIONS, or "<activation>-lr-<rate>" (e.g. "tanh-lr-0.01").

    "<activation>-lr-<rate>" keeps everything else, including the other activation's swept rate,
    and trains that activation at the given rate: the learning-rate choice as a condition.
    """
    if name in KNOWN_CONDITIONS:
        return KNOWN_CONDITIONS[name]
    act, sep, rate = name.partition("-lr-")
    if sep and act in ACTIVATIONS:
        try:
            lr = float(rate)
        except ValueError:
            lr = -1.0
        if lr > 0:
            return Condition(name, (("fixed_lr", ((act, lr),)),),
                             f"{act} at lr {lr:g} instead of its sweep's choice (the learning-rate choice)")
    raise ValueError(
        f"unknown condition {name!r}; known: {', '.join(sorted(KNOWN_CONDITIONS))}, or <relu|tanh>-lr-<rate>"
    )


@dataclass(frozen=True)
class ReluTanhConfig:
    """Settings of the Figure 1 experiment; defaults follow the paper or, where it is silent, layers-19pct."""

    activations: tuple[str, ...] = ACTIVATIONS  # Figure 1 compares exactly these two
    seeds: tuple[int, ...] = (0, 1, 2)  # the paper shows one run; three seeds give a spread
    # Network (cuda-convnet layers-19pct, see module docstring).
    channels: tuple[int, ...] = (32, 32, 64)  # conv1..conv3 kernels
    pools: tuple[str, ...] = ("max", "avg", "avg")  # pool 3/2 after each conv
    kernel_size: int = 5  # 5x5 convs, padding 2
    lrn: bool = False  # no normalisation in Figure 1's network (the LRN claim is a separate experiment)
    init: str = "layers-19pct"  # conv1 N(0,1e-4), others N(0,1e-2), bias 0; or "pytorch" (library default)
    init_scale: float = 1.0  # multiplies every init std (condition study)
    # Optimisation: no regularisation of any kind (paper).
    batch_size: int = 128  # layers-19pct's minibatch
    momentum: float = 0.9  # layers-19pct's momW
    lr_grid: tuple[float, ...] = (0.0003, 0.001, 0.003, 0.01, 0.03)  # log grid, half a decade apart
    lr_grid_extensions: int = 2  # a winner at the grid's edge extends the grid this many times at most
    fixed_lr: tuple[tuple[str, float], ...] = ()  # (activation, lr) pairs that skip the sweep
    shared_lr: bool = False  # True: every activation uses the first activation's chosen lr
    sweep_epochs: int = 2  # each sweep run's length
    sweep_train_images: int | None = 10000  # sweep on this many training images (None: all)
    # Final runs.
    target_error: float = 0.25  # the paper's 25% line
    epochs_after_target: int = 1  # keep training this many epochs past 25% so the plot shows the trend
    max_epochs: int = 40  # cap per run (tanh in the paper needs about 35)
    train_images: int | None = None  # None: all 50,000
    test_images: int | None = None  # None: all 10,000; test error is measured once, at the end of each run
    eval_train_images: int | None = 10000  # post-epoch pass over this fixed training subset (None: all; 0: skip)
    error_measure: str = "running"  # "running" (cuda-convnet's, during the epoch) or "post_epoch"
    # Execution.
    threads: int = 0  # torch threads; 0 = measure 1 and 2 and take the faster
    channels_last: bool = True  # faster for these convs on CPU (benchmarks/bench_relu_tanh.py)
    data_root: str | None = None  # None: alexnet.paths.data_root() / "cifar10"
    conditions: tuple[str, ...] = ()  # names from KNOWN_CONDITIONS to rerun (sweep + runs) as a study
    condition_seeds: tuple[int, ...] = (0,)  # seeds for each condition of the study

    def __post_init__(self) -> None:
        bad = [a for a in self.activations if a not in ACTIVATIONS]
        if bad or not self.activations:
            raise ValueError(f"activations must be among {ACTIVATIONS}, got {self.activations}")
        if len(self.pools) != len(self.channels) or any(p not in ("max", "avg") for p in self.pools):
            raise ValueError("pools must name 'max' or 'avg' once per conv layer")
        if self.init not in ("layers-19pct", "pytorch"):
            raise ValueError(f"init must be 'layers-19pct' or 'pytorch', got {self.init!r}")
        if self.error_measure not in MEASURES:
            raise ValueError(f"error_measure must be one of {MEASURES}, got {self.error_measure!r}")
        if self.error_measure == "post_epoch" and self.eval_train_images == 0:
            raise ValueError("error_measure='post_epoch' needs eval_train_images > 0 or None")
        if not self.lr_grid or any(lr <= 0 for lr in self.lr_grid):
            raise ValueError("lr_grid must hold positive learning rates")
        for name in self.conditions:
            condition(name)  # raises ValueError for an unknown name
        if self.threads < 0:
            raise ValueError("threads must be 0 (auto) or a positive count")

    @classmethod
    def quick(cls, **overrides: Any) -> ReluTanhConfig:
        """A small version (2,000 training images, one seed, 4 epochs) that runs in well under a minute."""
        base = dict(
            seeds=(0,), lr_grid=(0.001, 0.01), lr_grid_extensions=0, sweep_epochs=1, sweep_train_images=1000,
            max_epochs=4, epochs_after_target=0, train_images=2000, test_images=500, eval_train_images=1000,
        )
        base.update(overrides)
        return cls(**base)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ReluTanhConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {}
        for k, v in d.items():
            if k not in names:
                continue
            if k == "fixed_lr":
                v = tuple((str(a), float(lr)) for a, lr in v)
            elif isinstance(v, list):
                v = tuple(v)
            kw[k] = v
        return cls(**kw)


# --- the network --------------------------------------------------------------------------------------------


class FourLayerNet(nn.Module):
    """cuda-convnet's layers-19pct: three 5x5 convs with 3/2 pools, then one fully connected layer."""

    def __init__(
        self,
        activation: str = "relu",
        channels: tuple[int, ...] = (32, 32, 64),
        pools: tuple[str, ...] = ("max", "avg", "avg"),
        kernel_size: int = 5,
        num_classes: int = 10,
        lrn: bool = False,
        image_size: int = 32,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        act = nn.ReLU if activation == "relu" else nn.Tanh
        layers: list[nn.Module] = []
        c_in, size = 3, image_size
        for i, (c, pool) in enumerate(zip(channels, pools, strict=True)):
            layers.append(nn.Conv2d(c_in, c, kernel_size, padding=kernel_size // 2))
            # ceil_mode: cuda-convnet's pools round up, 32 -> 16 -> 8 -> 4.
            if pool == "max":
                # Activation after a max pool equals activation before it (both are monotone) on 4x fewer values.
                layers += [nn.MaxPool2d(3, 2, ceil_mode=True), act()]
            else:
                layers += [act(), nn.AvgPool2d(3, 2, ceil_mode=True)]
            if lrn and i < 2:
                # cuda-convnet's layers-18pct normalises over 9 neighbouring maps after the first two pools.
                layers.append(nn.LocalResponseNorm(size=9, alpha=0.001, beta=0.75, k=1.0))
            c_in, size = c, math.ceil((size - 3) / 2) + 1
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_in * size * size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))

    def init_weights_(self, scheme: str = "layers-19pct", scale: float = 1.0) -> FourLayerNet:
        """layers-19pct's initW (conv1 1e-4, the rest 1e-2, biases 0) times ``scale``; "pytorch" keeps the default."""
        weights = [m for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        with torch.no_grad():
            for i, m in enumerate(weights):
                if scheme == "layers-19pct":
                    m.weight.normal_(0.0, (1e-4 if i == 0 else 1e-2) * scale)
                    m.bias.zero_()
                elif scale != 1.0:
                    m.weight.mul_(scale)
        return self


def build_model(config: ReluTanhConfig, activation: str, seed: int) -> FourLayerNet:
    torch.manual_seed(seed)
    model = FourLayerNet(activation, config.channels, config.pools, config.kernel_size, lrn=config.lrn)
    model.init_weights_(config.init, config.init_scale)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


# --- training -----------------------------------------------------------------------------------------------


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


def _cfg_with(config: ReluTanhConfig, overrides) -> ReluTanhConfig:
    return dataclasses.replace(config, **dict(overrides))


def _unit_key(*parts) -> str:
    return "|".join(str(p) for p in parts)


def _run_condition(
    name: str,
    config: ReluTanhConfig,
    seeds: tuple[int, ...],
    full: _Data,
    sweep_data: _Data,
    done: dict,
    save: Callable[[], None],
    step: Callable[[int, str], None],
    record: dict,
    missing: list[str] | None = None,
    unit_prefix: str | None = None,
    in_progress: dict | None = None,
) -> dict:
    """Sweep (per activation, unless fixed or shared) then one run per activation and seed.

    ``record`` is filled in as the work goes (so a partial results file shows what is done) and returned.
    With ``missing`` (a list), nothing is trained: unfinished units are appended to it and skipped.
    ``unit_prefix`` names the units (default ``name``): conditions that train a given (activation, lr,
    seed) exactly as the baseline does (e.g. "shared-lr", which only changes the choice) reuse its units.
    """
    prefix = unit_prefix or name
    in_progress = {} if in_progress is None else in_progress
    sweep: dict[str, dict] = {}
    chosen: dict[str, float] = {}
    runs: list[dict] = []

    def refresh() -> None:
        record.update({
            "name": name, "sweep": sweep, "chosen_lr": chosen, "runs": runs,
            "ratio": _ratio(runs, config.error_measure, config.activations),
            "ratio_by_measure": {m: _ratio(runs, m, config.activations) for m in MEASURES},
        })

    refresh()
    fixed = dict(config.fixed_lr)
    for ai, act in enumerate(config.activations):
        if act in fixed:
            chosen[act] = fixed[act]
            continue
        if config.shared_lr and ai > 0:
            if config.activations[0] in chosen:
                chosen[act] = chosen[config.activations[0]]
            continue
        grid = sorted(config.lr_grid)
        curves: dict[str, dict] = {}
        extensions = 0
        incomplete = False
        while True:
            for lr in grid:
                key = _unit_key(prefix, "sweep", act, f"{lr:g}")
                if key not in done and missing is not None:
                    missing.append(key)
                    incomplete = True
                    continue
                if key not in done:
                    curve = _train(sweep_data, config, act, lr, seeds[0], config.sweep_epochs, False,
                                   lambda msg: step(1, f"[{name} sweep] {msg}"), measure_test=False)
                    done[key] = curve
                    save()
                else:
                    step(config.sweep_epochs, "")
                curves[f"{lr:g}"] = done[key]
            if incomplete:
                break
            scores = {lr: _sweep_score(curves[f"{lr:g}"], config) for lr in grid}
            best = min(grid, key=lambda lr: (scores[lr], lr))
            ratio = grid[-1] / grid[-2] if len(grid) > 1 else 10 ** 0.5
            if extensions < config.lr_grid_extensions and best == grid[-1] and not curves[f"{best:g}"]["diverged"]:
                grid = grid + [round(grid[-1] * ratio, 10)]
            elif extensions < config.lr_grid_extensions and best == grid[0] and len(grid) > 1:
                grid = [round(grid[0] / (grid[1] / grid[0]), 10)] + grid
            else:
                break
            extensions += 1
        if incomplete:
            continue
        sweep[act] = {
            "lrs": grid,
            "curves": curves,
            "scores": {f"{lr:g}": scores[lr] for lr in grid},
            "criterion": f"{config.error_measure} training error after {config.sweep_epochs} epoch(s) on "
            f"{len(sweep_data.train_y)} training images, seed {seeds[0]}; diverged = 1.0; ties go to the smaller lr",
        }
        chosen[act] = best
        refresh()
    for seed in seeds:
        for act in config.activations:
            if act not in chosen:
                continue
            key = _unit_key(prefix, "run", act, seed, f"{chosen[act]:g}")
            if key not in done and missing is not None:
                missing.append(key)
                if key in in_progress:  # a run stopped from outside: its curve so far, marked "interrupted"
                    runs.append(_summarise_run(act, seed, chosen[act], in_progress[key], config))
                    refresh()
                continue
            if key not in done:

                def keep(curve_so_far: dict, key: str = key) -> None:
                    in_progress[key] = curve_so_far
                    save()

                curve = _train(full, config, act, chosen[act], seed, config.max_epochs, True,
                               lambda msg: step(1, f"[{name}] {msg}"), on_epoch=keep)
                step(config.max_epochs - len(curve["running_error"]), "")  # the epochs it did not need
                done[key] = curve
                in_progress.pop(key, None)
                save()
            else:
                step(config.max_epochs, "")
            runs.append(_summarise_run(act, seed, chosen[act], done[key], config))
            refresh()
            save()
    return record


def _sweep_score(curve: dict, config: ReluTanhConfig) -> float:
    if curve["diverged"]:
        return 1.0
    errors = curve["running_error"] if config.error_measure == "running" else curve["post_epoch_error"]
    return float(errors[-1])


def _summarise_run(act: str, seed: int, lr: float, curve: dict, config: ReluTanhConfig) -> dict:
    row = {"activation": act, "seed": seed, "lr": lr, "epochs": list(range(1, len(curve["running_error"]) + 1))}
    row.update({k: curve[k] for k in ("running_error", "post_epoch_error", "loss", "seconds", "test_error",
                                       "diverged", "stopped")})
    row["train_error"] = row["running_error"] if config.error_measure == "running" else row["post_epoch_error"]
    row["epochs_to_25"] = {}
    row["epochs_to_25_interpolated"] = {}
    for m in MEASURES:
        whole, interp = epochs_to_target(curve[f"{m}_error"], config.target_error)
        row["epochs_to_25"][m] = whole
        row["epochs_to_25_interpolated"][m] = interp
    return row


def _ratio(runs: list[dict], measure: str, activations: tuple[str, ...]) -> dict:
    """tanh / ReLU epochs to 25% per seed (whole epochs and interpolated), with mean, min and max over seeds."""
    out: dict[str, Any] = {"measure": measure}
    if "relu" not in activations or "tanh" not in activations:
        return out
    for kind, field_ in (("whole_epochs", "epochs_to_25"), ("interpolated", "epochs_to_25_interpolated")):
        per_seed = {}
        for r in runs:
            if r["activation"] != "relu":
                continue
            t = next((x for x in runs if x["activation"] == "tanh" and x["seed"] == r["seed"]), None)
            if t is None:
                continue
            a, b = r[field_][measure], t[field_][measure]
            per_seed[str(r["seed"])] = None if (a is None or b is None or a == 0) else round(b / a, 3)
        vals = [v for v in per_seed.values() if v is not None]
        out[kind] = {
            "per_seed": per_seed,
            "mean": round(sum(vals) / len(vals), 3) if vals else None,
            "min": min(vals) if vals else None,
            "max": max(vals) if vals else None,
            "n": len(vals),
        }
    # Top-level numbers: whole epochs, as the paper counts them on its per-epoch plot.
    out.update({k: out["whole_epochs"][k] for k in ("mean", "min", "max", "n")})
    # Where ReLU reached 25% and tanh had not when its run ended (cap or interrupted): the ratio is
    # at least (tanh's epochs so far + 1) / ReLU's epochs.
    lower = {}
    for r in runs:
        t = next((x for x in runs if x["activation"] == "tanh" and x["seed"] == r["seed"]), None)
        if r["activation"] == "relu" and t is not None and r["epochs_to_25"][measure] and \
                t["epochs_to_25"][measure] is None and not t.get("diverged"):
            lower[str(r["seed"])] = round((len(t["running_error"]) + 1) / r["epochs_to_25"][measure], 3)
    out["lower_bound_per_seed"] = lower
    return out


def run_experiment(
    config: ReluTanhConfig,
    progress: Progress | None = None,
    *,
    data=None,
    out_dir: str | os.PathLike | None = None,
    command: str | None = None,
    resume: bool = False,
    report_only: bool = False,
    study_only: bool = False,
) -> dict:
    """Run the sweep, the runs and any condition study; return the results dict (also written if ``out_dir``).

    ``progress(fraction, message)`` is called after each epoch. ``data`` is a ``Cifar10``
    (default: loaded from ``config.data_root``). With ``out_dir`` the results are
    written atomically after every finished run (``"status": "partial"``) and at the
    end; ``resume=True`` reuses finished sweep entries and runs from a partial file
    made with the same config. ``report_only=True`` trains nothing: it rebuilds the results
    and figures in ``out_dir`` from the finished units of its partial file (for a run that
    had to stop); ``missing_units`` lists what is not there. ``study_only=True`` trains only the
    studied conditions and reports the baseline's finished units (for a study run beside the main run).
    """
    from alexnet.data.cifar10 import load_cifar10

    t_start = time.perf_counter()
    prev_threads = torch.get_num_threads()
    out_path = Path(out_dir) / "results.json" if out_dir is not None else None
    done: dict[str, dict] = {}
    in_progress: dict[str, dict] = {}
    elapsed_before = 0.0
    invocations: list[dict] = []
    old: dict = {}
    if (resume or report_only) and out_path is not None and out_path.is_file():
        old = json.loads(out_path.read_text())
        if _same_training(old.get("config") or {}, config):
            done = old.get("units", {})
            # Runs stopped from outside: shown until the run is trained again (from the start) and finishes.
            in_progress = old.get("in_progress", {})
            elapsed_before = float(old.get("wall_time_s") or 0.0)
            invocations = list(old.get("invocations", []))
        elif report_only:
            raise DataError(f"{out_path} was made with another config; nothing to report")
    elif report_only:
        raise DataError(f"report-only needs a results file from an earlier run: {out_path} is missing")
    if not report_only:
        invocations.append({"command": command, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    missing: list[str] | None = [] if report_only else None
    baseline_skipped: list[str] = []  # baseline units a study-only run leaves to the main run
    if data is None:
        data = load_cifar10(config.data_root)
    threads = int(old.get("threads", 1)) if report_only else pick_threads(config)
    torch.set_num_threads(threads)
    try:
        full = _prepare(data, config, config.train_images)
        sweep_n = config.sweep_train_images
        if sweep_n is not None and config.train_images is not None:
            sweep_n = min(sweep_n, config.train_images)
        sweep_data = _prepare(data, config, sweep_n) if sweep_n != config.train_images else full

        plan = [("baseline", config, config.seeds)] + [
            (c, _cfg_with(config, condition(c).overrides), config.condition_seeds) for c in config.conditions
        ]
        total = 0
        for _, cfg, seeds in plan:
            n_sweeps = sum(1 for i, a in enumerate(cfg.activations)
                           if a not in dict(cfg.fixed_lr) and not (cfg.shared_lr and i > 0))
            total += n_sweeps * len(cfg.lr_grid) * cfg.sweep_epochs + len(seeds) * len(cfg.activations) * cfg.max_epochs
        state = {"done": 0}

        def step(n_epochs: int, message: str) -> None:
            state["done"] += n_epochs
            if progress is not None and (message or n_epochs):
                progress(min(1.0, state["done"] / max(1, total)), message)

        results: dict[str, Any] = {}

        def snapshot(status: str, conditions: list[dict]) -> dict:
            base = conditions[0] if conditions else {}
            return {
                "format": RESULTS_FORMAT,
                "status": status,
                "command": command if not report_only else old.get("command"),
                "invocations": invocations,
                "missing_units": (missing or []) + baseline_skipped,
                "wall_time_s": round(elapsed_before + (0.0 if report_only else time.perf_counter() - t_start), 1),
                # What wall_time_s already held when this invocation resumed (so a merge counts only new time).
                "resumed_from_wall_time_s": (float(old.get("resumed_from_wall_time_s") or 0.0) if report_only
                                             else round(elapsed_before, 1)),
                "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "config": _jsonable(config),
                "data": {"source": data.source, "train_images": len(full.train_y),
                         "sweep_train_images": len(sweep_data.train_y), "test_images": len(full.test_y)},
                "device": _device_description(),
                "threads": threads,
                "torch_version": torch.__version__,
                "error_measure": {
                    "decision": config.error_measure,
                    "running": "error of each training batch's predictions just before its update, averaged over "
                    "the epoch (what cuda-convnet reports while training)",
                    "post_epoch": "full evaluation pass after the epoch over a fixed subset of "
                    f"{len(full.eval_y) if full.eval_y is not None else 0} training images",
                },
                "sweep": base.get("sweep", {}),
                "chosen_lr": base.get("chosen_lr", {}),
                "runs": base.get("runs", []),
                "ratio": base.get("ratio", {}),
                "ratio_by_measure": base.get("ratio_by_measure", {}),
                "conditions": [
                    {**c, "note": condition(c["name"]).note,
                     "overrides": _jsonable_overrides(condition(c["name"]).overrides)}
                    for c in conditions[1:]
                ],
                "images_per_s": _images_per_s(done, len(full.train_y)),
                "units": done,
                "in_progress": in_progress,
            }

        finished: list[dict] = []

        def save() -> None:
            if out_path is not None and not report_only:
                atomic_write_text(json.dumps(snapshot("partial", finished), indent=1), out_path)

        for name, cfg, seeds in plan:
            finished.append({"name": name})
            prefix = "baseline" if _trains_like(cfg, config) else name
            skip = missing if (missing is not None or not (study_only and name == "baseline")) else baseline_skipped
            _run_condition(name, cfg, seeds, full, sweep_data, done, save, step, finished[-1], skip, prefix,
                           in_progress)
            if not report_only:
                save()
        results = snapshot("partial" if (missing or baseline_skipped) else "complete", finished)
        if out_path is not None:
            atomic_write_text(json.dumps(results, indent=1), out_path)
            write_figures(results, out_path.parent)
        if progress is not None:
            progress(1.0, "done")
        return results
    finally:
        torch.set_num_threads(prev_threads)


# Fields that do not change what a finished sweep entry or run contains: a resumed run may change them
# (add seeds, add a condition study, use another thread count) and still reuse the finished units.
RESUME_NEUTRAL_FIELDS = ("seeds", "conditions", "condition_seeds", "threads")


def _jsonable_overrides(overrides) -> dict:
    return json.loads(json.dumps(dict(overrides)))


def _jsonable(config: ReluTanhConfig) -> dict:
    return json.loads(json.dumps(config.to_dict()))


def _same_training(old_config: dict, config: ReluTanhConfig) -> bool:
    new = _jsonable(config)
    return {k: v for k, v in old_config.items() if k not in RESUME_NEUTRAL_FIELDS} == {
        k: v for k, v in new.items() if k not in RESUME_NEUTRAL_FIELDS
    }


# Fields that only decide which learning rate is used, not how a given (activation, lr, seed) trains.
CHOICE_ONLY_FIELDS = ("shared_lr", "fixed_lr")


def _trains_like(a: ReluTanhConfig, b: ReluTanhConfig) -> bool:
    skip = RESUME_NEUTRAL_FIELDS + CHOICE_ONLY_FIELDS
    da, db = _jsonable(a), _jsonable(b)
    return {k: v for k, v in da.items() if k not in skip} == {k: v for k, v in db.items() if k not in skip}


def _images_per_s(done: dict, n_train: int) -> float | None:
    """Median training throughput over the final runs' epochs (epoch seconds include the post-epoch pass)."""
    rates = [n_train / s for k, c in done.items() if "|run|" in k for s in c["seconds"] if s > 0]
    return round(sorted(rates)[len(rates) // 2], 1) if rates else None


def _device_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    return f"CPU: {cpu}, {os.cpu_count()} logical cores ({platform.system()})"


# --- reading results ----------------------------------------------------------------------------------------


REQUIRED_KEYS = ("format", "config", "runs", "chosen_lr", "sweep", "ratio", "error_measure")


def load_results(path: str | os.PathLike = RESULTS_DIR / "results.json") -> dict:
    """The results JSON, checked; ``DataError`` with a one-line reason if it is missing or unusable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no Figure 1 results at {path} (run `alexnet relu-tanh` to make them)")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from None
    _validate(results, str(path))
    return results


def merge_units(target: Path, sources: list[Path]) -> int:
    """Add the finished units (and invocations) of ``sources`` to the results file ``target``; returns how many.

    Only files made with the same training settings are merged (``DataError`` otherwise); a unit already
    in ``target`` is kept as it is.
    """
    main = load_results_raw(target)
    base = ReluTanhConfig.from_dict(main["config"])
    added = 0
    for src in sources:
        other = load_results_raw(src)
        if not _same_training(other.get("config") or {}, base):
            raise DataError(f"{src} was made with other training settings than {target}; not merged")
        for key, unit in (other.get("units") or {}).items():
            if key not in main["units"]:
                main["units"][key] = unit
                added += 1
        main.setdefault("in_progress", {})
        for key, curve in (other.get("in_progress") or {}).items():
            if key not in main["units"] and key not in main["in_progress"]:
                main["in_progress"][key] = curve
        own = float(other.get("wall_time_s") or 0) - float(other.get("resumed_from_wall_time_s") or 0)
        main["wall_time_s"] = round(float(main.get("wall_time_s") or 0) + max(0.0, own), 1)
        known = {(i.get("command"), i.get("started_utc")) for i in main.setdefault("invocations", [])}
        main["invocations"].extend(dict(inv, merged_from=str(src)) for inv in other.get("invocations", [])
                                   if (inv.get("command"), inv.get("started_utc")) not in known)
    atomic_write_text(json.dumps(main, indent=1), target)
    return added


def load_results_raw(path: Path) -> dict:
    """A results file as written, partial ones included (no check beyond valid JSON)."""
    if not path.is_file():
        raise DataError(f"no results file at {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from None


def _validate(results: Any, where: str = "results") -> None:
    if not isinstance(results, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(results).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in results]
    if missing:
        raise DataError(f"{where} is not a Figure 1 results file: missing {', '.join(missing)}")
    if results["format"] != RESULTS_FORMAT:
        raise DataError(f"{where}: unknown format {results['format']!r} (expected {RESULTS_FORMAT!r})")
    for r in results["runs"]:
        if not {"activation", "seed", "running_error", "train_error"} <= set(r):
            raise DataError(f"{where}: a run lacks activation/seed/error curves")


# --- tables and figures -------------------------------------------------------------------------------------


def curves_table(results: dict | list[dict]) -> list[dict]:
    """One row per (condition, activation, seed, epoch): both error measures, loss, lr (for CSV download)."""
    rows = []
    for res in results if isinstance(results, list) else [results]:
        groups = [("baseline", res["runs"])] + [(c["name"], c["runs"]) for c in res.get("conditions", [])]
        for cond, runs in groups:
            for r in runs:
                for i, ep in enumerate(r["epochs"] if "epochs" in r else range(1, len(r["train_error"]) + 1)):
                    rows.append({
                        "condition": cond, "activation": r["activation"], "seed": r["seed"], "lr": r.get("lr"),
                        "epoch": ep, "train_error": r["train_error"][i], "running_error": r["running_error"][i],
                        "post_epoch_error": (r.get("post_epoch_error") or [None] * (i + 1))[i],
                        "loss": (r.get("loss") or [None] * (i + 1))[i],
                    })
    return rows


def ratio_table(results: dict) -> list[dict]:
    """What moves the ratio: one row per (condition, error measure) with chosen lrs, epochs to 25% and tanh/ReLU."""
    rows = []
    groups = [("baseline", "the paper's setting as configured", results)] + [
        (c["name"], c.get("note", ""), c) for c in results.get("conditions", [])
    ]
    for name, note, g in groups:
        for m in MEASURES:
            ratio = (g.get("ratio_by_measure") or {}).get(m) or {}
            row = {"condition": name, "error_measure": m, "note": note}
            for act in ACTIVATIONS:
                row[f"lr_{act}"] = (g.get("chosen_lr") or {}).get(act)
                eps = [r["epochs_to_25"][m] for r in g.get("runs", []) if r["activation"] == act]
                row[f"epochs_to_25_{act}"] = eps
            row.update({"ratio_mean": ratio.get("mean"), "ratio_min": ratio.get("min"),
                        "ratio_max": ratio.get("max"), "seeds": ratio.get("n")})
            rows.append(row)
    return rows


_STYLE = {"relu": ("solid", "-", "#1f4e9c", "ReLU"), "tanh": ("dash", "--", "#c0392b", "tanh")}


def _summary_line(results: dict, ratio: dict | None = None) -> str:
    ratio = (results.get("ratio") if ratio is None else ratio) or {}
    tag = "PARTIAL run. " if results.get("status") == "partial" else ""
    if ratio.get("mean") is None:
        lower = ratio.get("lower_bound_per_seed") or {}
        if lower:
            return f"{tag}tanh not at 25% yet: ratio > {min(lower.values()):.2f}x ({len(lower)} seed(s))"
        return f"{tag}tanh/ReLU ratio: not reached by both"
    seeds = "1 seed" if ratio["n"] == 1 else f"{ratio['n']} seeds"
    return (f"{tag}tanh/ReLU epochs to 25%: {ratio['mean']:.2f}x (range {ratio['min']:.2f}-{ratio['max']:.2f}, "
            f"{seeds})")


def _group(results: dict, condition: str | None) -> dict:
    """The baseline (``condition`` None or "baseline") or a studied condition: its runs and ratios."""
    if condition in (None, "baseline"):
        return results
    found = [c for c in results.get("conditions", []) if c["name"] == condition]
    if not found:
        raise ValueError(f"no condition {condition!r} in these results")
    return found[0]


def _measure(results: dict, measure: str | None) -> str:
    if measure is not None and measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    return measure or results["error_measure"].get("decision", "running")


def _title(results: dict, measure: str | None, condition: str | None, separator: str) -> str:
    """The summary line of one group's ratio under one measure, prefixed by the condition's name."""
    group = _group(results, condition)
    ratio = (group.get("ratio_by_measure") or {}).get(_measure(results, measure)) or group.get("ratio")
    prefix = "" if condition in (None, "baseline") else f"{condition}{separator}"
    return prefix + _summary_line(results, ratio)


def matplotlib_figure(results: dict, measure: str | None = None, condition: str | None = None, ax: Any = None) -> Any:
    """Figure 1 in the paper's style: training error rate per epoch, solid ReLU, dashed tanh, the 25% line.

    ``measure`` and ``condition`` as for ``plotly_figure``. With ``ax`` it draws there (and returns its figure).
    """
    from matplotlib.figure import Figure

    _validate(results)
    m = _measure(results, measure)
    group = _group(results, condition)
    if ax is None:
        fig = Figure(figsize=(5.5, 4.2), dpi=120)
        ax = fig.add_subplot(1, 1, 1)
    seen = set()
    top = 0.75
    for r in group["runs"]:
        _, ls, color, label = _STYLE[r["activation"]]
        ys = [1.0 if e is None else e for e in (r.get(f"{m}_error") or r["train_error"])]
        epochs = list(range(1, len(ys) + 1))
        top = max(top, min(0.9, max(ys or [0])))
        # Measured points only (epoch 1 onwards), as in the paper's plot.
        ax.plot(epochs, ys, ls, color=color, lw=1.4,
                label=None if r["activation"] in seen else f"{label} (lr {r['lr']:g})")
        seen.add(r["activation"])
    target = results["config"].get("target_error", 0.25)
    ax.axhline(target, color="0.3", lw=0.8, ls=":")
    ax.set_xlabel("Epochs")
    ax.set_ylabel(f"Training error rate ({m.replace('_', '-')})")
    ax.set_ylim(0, top + 0.02)
    ax.set_xlim(left=0)
    if seen:
        ax.legend(frameon=False)
    ax.set_title(_title(results, m, condition, "\n"), fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def conditions_figure(results: dict, measure: str | None = None) -> Any:
    """Matplotlib: the baseline's curves plus every studied condition's own runs (what moves the ratio)."""
    from matplotlib.figure import Figure

    _validate(results)
    m = measure or results["error_measure"].get("decision", "running")
    fig = Figure(figsize=(6.5, 4.4), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    palette = ["#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#b7950b"]
    groups = [("baseline", results["runs"], None)] + [
        (c["name"], c["runs"], palette[i % len(palette)]) for i, c in enumerate(results.get("conditions", []))
    ]
    base_keys = {(r["activation"], r["lr"], r["seed"]) for r in results["runs"]}
    labelled = set()
    for name, runs, color in groups:
        for r in runs:
            if color is not None and (r["activation"], r["lr"], r["seed"]) in base_keys:
                continue  # a condition's run shared with the baseline is drawn once, as the baseline
            _, ls, base_color, label = _STYLE[r["activation"]]
            ys = [1.0 if e is None else e for e in (r.get(f"{m}_error") or r["train_error"])]
            key = (name, r["activation"])
            reached = r["epochs_to_25"].get(m)
            text = f"{label} lr {r['lr']:g} ({name}), " + (
                f"25% at epoch {reached}" if reached else f"not at 25% in {len(ys)} epochs ({r['stopped']})")
            ax.plot(range(1, len(ys) + 1), ys, ls, color=color or base_color, lw=1.3,
                    label=None if key in labelled else text)
            labelled.add(key)
    ax.axhline(results["config"].get("target_error", 0.25), color="0.3", lw=0.8, ls=":")
    ax.set_xlabel("Epochs")
    ax.set_ylabel(f"Training error rate ({m.replace('_', '-')})")
    ax.set_ylim(0, 0.8)
    ax.set_xlim(left=0)
    if labelled:
        ax.legend(frameon=False, fontsize=7)
    ax.set_title("Conditions: what moves the tanh/ReLU ratio", fontsize=9)
    fig.tight_layout()
    return fig


def plotly_figure(results: dict | list[dict], measure: str | None = None, condition: str | None = None) -> Any:
    """Training error vs epoch (solid ReLU, dashed tanh, the 25% line); a list of results overlays several runs.

    ``measure`` picks "running" or "post_epoch" (default: the one the results decided by);
    ``condition`` shows a studied condition's runs instead of the baseline's.
    """
    import plotly.graph_objects as go

    many = results if isinstance(results, list) else [results]
    fig = go.Figure()
    palette = ["#1f4e9c", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16a085"]
    target = 0.25
    for k, res in enumerate(many):
        _validate(res)
        target = res["config"].get("target_error", target)
        tag = f"run {k + 1}: " if len(many) > 1 else ""
        m = _measure(res, measure)
        for r in _group(res, condition)["runs"]:
            dash, _, color, label = _STYLE[r["activation"]]
            if len(many) > 1:
                color = palette[k % len(palette)]
            ys = r.get(f"{m}_error") or r["train_error"]
            epochs = r.get("epochs") or list(range(1, len(ys) + 1))
            to25 = (r.get("epochs_to_25") or {}).get(m)
            fig.add_trace(go.Scatter(
                x=list(epochs), y=list(ys), mode="lines+markers", marker={"size": 4},
                line={"dash": dash, "color": color, "width": 2},
                name=f"{tag}{label} seed {r['seed']} (lr {r['lr']:g}, "
                + (f"25% at epoch {to25})" if to25 else f"not at 25% in {len(ys)} epochs, {r.get('stopped')})"),
                legendgroup=f"{k}-{r['activation']}",
            ))
    fig.add_hline(y=target, line={"dash": "dot", "color": "gray"}, annotation_text=f"{target:.0%}")
    title = _title(many[0], measure, condition, ": ") if len(many) == 1 else "Figure 1: ReLU (solid) vs tanh (dashed)"
    fig.update_layout(title=title, xaxis_title="Epochs", yaxis_title="Training error rate",
                      yaxis={"range": [0, 0.92]}, template="plotly_white", legend={"font": {"size": 10}})
    return fig


def sweep_figure(results: dict) -> Any:
    """The learning-rate sweep behind the chosen rates: sweep score (training error at its end) against lr."""
    import plotly.graph_objects as go

    _validate(results)
    fig = go.Figure()
    for act, sw in results["sweep"].items():
        dash, _, color, label = _STYLE[act]
        lrs = sorted(float(lr) for lr in sw["scores"])
        name = f"{label} (chosen {results['chosen_lr'][act]:g})"
        fig.add_trace(go.Scatter(x=lrs, y=[sw["scores"][f"{lr:g}"] for lr in lrs], mode="lines+markers",
                                 line={"dash": dash, "color": color}, name=name))
    criterion = next(iter(results["sweep"].values()), {}).get("criterion", "")
    fig.update_layout(title="Learning-rate sweep", xaxis={"type": "log", "title": "learning rate"},
                      yaxis_title="training error at the end of the sweep run", template="plotly_white")
    if criterion:
        fig.add_annotation(text=criterion, showarrow=False, xref="paper", yref="paper", x=0, y=-0.25,
                           font={"size": 9}, align="left")
    return fig


def measures_figure(results: dict, condition: str | None = None) -> Any:
    """Two Figure-1 panels side by side: the running error and the full pass after each epoch."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), dpi=110)
    for i, m in enumerate(MEASURES):
        matplotlib_figure(results, m, condition, ax=fig.add_subplot(1, len(MEASURES), i + 1))
    return fig


def _save_png(fig: Any, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    os.replace(tmp, path)
    return path


def write_figures(results: dict, folder: str | os.PathLike) -> dict[str, Path]:
    """Into ``folder``: figure1.png (matplotlib, paper style), figure1_plotly.json (for the dashboard),
    figure1_<condition>.png (both error measures) for the baseline and each studied condition, and
    conditions.png (all conditions in one plot)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png = _save_png(matplotlib_figure(results), folder / "figure1.png")
    pj = atomic_write_text(plotly_figure(results).to_json(), folder / "figure1_plotly.json")
    out = {"png": png, "plotly": pj}
    for name in ["baseline"] + [c["name"] for c in results.get("conditions", [])]:
        out[f"figure1_{name}"] = _save_png(measures_figure(results, name), folder / f"figure1_{name}.png")
    if results.get("conditions"):
        out["conditions_png"] = _save_png(conditions_figure(results), folder / "conditions.png")
    return out


# --- command line -------------------------------------------------------------------------------------------
