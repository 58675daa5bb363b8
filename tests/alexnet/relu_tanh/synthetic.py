"""Hand-made Figure 1 inputs shared by the tests: results dicts with known ratios, learnable CIFAR-shaped data."""

from __future__ import annotations

import json

import numpy as np
import torch

from alexnet.relu_tanh.config import ACTIVATIONS, MEASURES, RESULTS_FORMAT, ReluTanhConfig, why_config
from alexnet.relu_tanh.summaries import epochs_to_target
from alexnet.relu_tanh.summaries import ratio as _ratio


def make_run(act, seed, errors):
    """A run row as the experiment summarises it, both measures the same ``errors``."""
    row = {"activation": act, "seed": seed, "lr": 0.01, "running_error": errors, "post_epoch_error": errors}
    row["epochs_to_25"] = {m: epochs_to_target(errors)[0] for m in MEASURES}
    row["epochs_to_25_interpolated"] = {m: epochs_to_target(errors)[1] for m in MEASURES}
    return row


def synthetic_results():
    """Two seeds; ReLU reaches 25% at epoch 3, tanh at epoch 6: a ratio of exactly 2."""
    runs = []
    for seed in (0, 1):
        for act, errs in (("relu", [0.7, 0.4, 0.24, 0.2]), ("tanh", [0.8, 0.6, 0.5, 0.4, 0.3, 0.24, 0.2])):
            row = make_run(act, seed, errs)
            row.update(epochs=list(range(1, len(errs) + 1)), train_error=errs, loss=[1.0] * len(errs),
                       test_error=0.4, lr=0.01 if act == "relu" else 0.003)
            runs.append(row)
    return {
        "format": RESULTS_FORMAT, "config": ReluTanhConfig().to_dict(), "runs": runs,
        "chosen_lr": {"relu": 0.01, "tanh": 0.003}, "sweep": {}, "ratio": _ratio(runs, "running", ACTIVATIONS),
        "error_measure": {"decision": "running"}, "conditions": [],
    }


def _errors(reach: int | None, epochs: int) -> list[float]:
    """Errors falling from 0.8 to exactly 0.24 at epoch ``reach`` (then 0.2); never below 0.3 if ``reach`` is None."""
    if reach is None:
        return [round(0.8 - 0.5 * (i + 1) / epochs, 4) for i in range(epochs)]
    return [round(0.8 - 0.56 * (i + 1) / reach, 4) if i < reach else 0.2 for i in range(epochs)]


def mechanism_record(act: str, epochs: int, conv1_saturated: float) -> dict:
    """A run's mechanism record: tanh's conv1 saturated from epoch 1 on at ``conv1_saturated``, weight std growing."""
    saturated = {} if act == "relu" else {
        "conv1": [0.0] + [conv1_saturated] * epochs, "conv2": [0.0] + [conv1_saturated / 2] * epochs,
        "conv3": [0.0] * (epochs + 1)}
    return {"epochs": list(range(epochs + 1)), "saturated": saturated, "threshold": 0.9, "images": 64,
            "weight_std": {k: [1e-4 * (1 + i) for i in range(epochs + 1)] for k in ("conv1", "conv2", "conv3", "fc")}}


def why_group(name: str, relu_reach: int | None, tanh_reach: int | None, tanh_epochs: int, saturated: float,
              mechanism: bool = True, relu_epochs: int | None = None) -> dict:
    """One condition of a why-study: ReLU at 0.003 (or the rate a "relu-lr-<rate>" name fixes) reaching 25% at
    ``relu_reach`` (None: not in ``relu_epochs``), tanh at 0.01 at ``tanh_reach``."""
    runs = []
    relu_epochs = relu_reach + 1 if relu_epochs is None else relu_epochs
    relu_lr = float(name.split("-lr-")[1]) if name.startswith("relu-lr-") else 0.003  # "relu-lr-0.01": ReLU at 0.01
    plan = (("relu", relu_reach, relu_epochs, relu_lr), ("tanh", tanh_reach, tanh_epochs, 0.01))
    for act, reach, epochs, lr in plan:
        errs = _errors(reach, epochs)
        row = make_run(act, 0, errs)
        row.update(epochs=list(range(1, epochs + 1)), train_error=errs, lr=lr, diverged=False, test_error=0.4,
                   stopped="target" if reach else "max_epochs")
        if mechanism:
            row["mechanism"] = mechanism_record(act, epochs, saturated)
        runs.append(row)
    overrides = {"fixed_lr": [["relu", relu_lr]]} if name.startswith("relu-lr-") else {"init": name}
    return {"name": name, "note": f"{name} note", "overrides": overrides, "runs": runs,
            "chosen_lr": {"relu": relu_lr, "tanh": 0.01},
            "sweep": {}, "ratio": _ratio(runs, "running", ACTIVATIONS),
            "ratio_by_measure": {m: _ratio(runs, m, ACTIVATIONS) for m in MEASURES}}


def synthetic_why_results(unit_variance_tanh: int = 3, mechanism: bool = True) -> dict:
    """A finished why-study: current recipe 14/2 = 7x (conv1 97% saturated), unit-variance-input
    ``unit_variance_tanh``/2 (1% saturated), pytorch-init tanh never at 25% in 10 epochs (> 5.5x), init-x10 12/3,
    ReLU at 0.001 14/4 and at 0.01 never at 25% in 20 epochs (< 14/21)."""
    base = why_group("baseline", 2, 14, 15, 0.97, mechanism)
    base.pop("name")
    base.pop("note")
    conditions = [why_group("unit-variance-input", 2, unit_variance_tanh, unit_variance_tanh + 1, 0.01, mechanism),
                  why_group("pytorch-init", 2, None, 10, 0.99, mechanism), why_group("init-x10", 3, 12, 13, 0.9),
                  why_group("relu-lr-0.001", 4, 14, 15, 0.97),
                  why_group("relu-lr-0.01", None, 14, 15, 0.97, relu_epochs=20)]
    return {"format": RESULTS_FORMAT, "status": "complete", "config": json.loads(json.dumps(why_config().to_dict())),
            "data": {"train_images": 50000}, "error_measure": {"decision": "running"}, "missing_units": [],
            **base, "conditions": conditions}


def learnable_cifar(n_train=256, n_test=40, seed=0):
    """Small CIFAR-shaped data whose class sets the mean colour of a few patches (a network can learn it)."""
    from alexnet.data.cifar10 import CLASSES, Cifar10

    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 10, size=n)
        x = rng.normal(128, 30, size=(n, 3, 32, 32))
        for k in range(10):
            x[y == k, k % 3, (k // 3) * 8:(k // 3) * 8 + 8, :] += 80
        return torch.from_numpy(np.clip(x, 0, 255).astype(np.uint8)), torch.from_numpy(y.astype(np.int64))

    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    return Cifar10(xtr, ytr, xte, yte, CLASSES, "generated")

