"""Settings of the Figure 1 experiment (ReluTanhConfig), its named conditions, and where results go; no torch.

The paper (Section 3.1, Figure 1): "A four-layer convolutional neural network
with ReLUs (solid line) reaches a 25% training error rate on CIFAR-10 six times
faster than an equivalent network with tanh neurons (dashed line). The learning
rates for each network were chosen independently to make training as fast as
possible. No regularization of any kind was employed."

The paper does not give the network or the recipe; the defaults below follow the closest published
configuration of the authors' own code (cuda-convnet's "layers-19pct", see ``network.py``). Every piece
is a field here, so the user can change it. This module imports no torch: the command line builds its
parser from it, and ``alexnet relu-tanh --help`` should answer without loading torch.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from alexnet.config_io import dataclass_from_dict
from alexnet.paths import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "results" / "relu_tanh"
RESULTS_FORMAT = "alexnet-explorer/relu-tanh/1"
ACTIVATIONS = ("relu", "tanh")
MEASURES = ("running", "post_epoch")


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
    # Network (cuda-convnet layers-19pct, see network.py).
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
        """Build from a results file's config; keys of older versions that no longer exist are dropped."""
        return dataclass_from_dict(cls, d, what="Figure 1 config", strict=False)


# --- which settings change what a finished unit contains ----------------------------------------------------

# Fields that do not change what a finished sweep entry or run contains: a resumed run may change them
# (add seeds, add a condition study, use another thread count) and still reuse the finished units.
RESUME_NEUTRAL_FIELDS = ("seeds", "conditions", "condition_seeds", "threads")

# Fields that only decide which learning rate is used, not how a given (activation, lr, seed) trains.
CHOICE_ONLY_FIELDS = ("shared_lr", "fixed_lr")


def _jsonable(config: ReluTanhConfig) -> dict:
    # Through JSON, so a config compares equal to the one read back from a results file (tuples -> lists).
    return json.loads(json.dumps(config.to_dict()))


def _jsonable_overrides(overrides) -> dict:
    return json.loads(json.dumps(dict(overrides)))


def _cfg_with(config: ReluTanhConfig, overrides) -> ReluTanhConfig:
    return dataclasses.replace(config, **dict(overrides))


def _same_training(old_config: dict, config: ReluTanhConfig) -> bool:
    new = _jsonable(config)
    return {k: v for k, v in old_config.items() if k not in RESUME_NEUTRAL_FIELDS} == {
        k: v for k, v in new.items() if k not in RESUME_NEUTRAL_FIELDS
    }


def _trains_like(a: ReluTanhConfig, b: ReluTanhConfig) -> bool:
    skip = RESUME_NEUTRAL_FIELDS + CHOICE_ONLY_FIELDS
    da, db = _jsonable(a), _jsonable(b)
    return {k: v for k, v in da.items() if k not in skip} == {k: v for k, v in db.items() if k not in skip}
