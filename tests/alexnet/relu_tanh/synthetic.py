"""Hand-made Figure 1 inputs shared by the tests: results dicts with known ratios, learnable CIFAR-shaped data."""

from __future__ import annotations

import numpy as np
import torch

from alexnet.relu_tanh.config import ACTIVATIONS, MEASURES, RESULTS_FORMAT, ReluTanhConfig
from alexnet.relu_tanh.experiment import _ratio
from alexnet.relu_tanh.training import epochs_to_target


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

