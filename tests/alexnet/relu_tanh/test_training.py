"""One training run: epochs-to-25% arithmetic, and a run on learnable data that reaches its target and stops."""

from __future__ import annotations

import pytest

from alexnet.relu_tanh.config import ReluTanhConfig
from alexnet.relu_tanh.experiment import run_experiment
from alexnet.relu_tanh.training import epochs_to_target
from tests.alexnet.relu_tanh.synthetic import learnable_cifar


def test_epochs_to_target_whole_and_interpolated():
    assert epochs_to_target([0.8, 0.5, 0.3, 0.2]) == (4, 3.5)  # 0.3 -> 0.2 crosses 0.25 half-way
    whole, interp = epochs_to_target([0.2])  # from the untrained 0.9 to 0.2 in the first epoch
    assert whole == 1 and interp == pytest.approx(round((0.9 - 0.25) / (0.9 - 0.2), 3))
    assert epochs_to_target([0.6, 0.25]) == (2, 2.0)  # exactly 25% counts as reached
    assert epochs_to_target([0.6, 0.4]) == (None, None)
    assert epochs_to_target([0.5, 0.3], target=0.4) == (2, 1.5)


@pytest.mark.slow
def test_training_on_learnable_data_reaches_the_target_and_stops(tmp_path):
    cfg = ReluTanhConfig.quick(threads=1, activations=("relu",), fixed_lr=(("relu", 0.003),), max_epochs=8,
                               target_error=0.3, epochs_after_target=1, init="pytorch", eval_train_images=None)
    res = run_experiment(cfg, data=learnable_cifar(n_train=400, seed=1))
    (run,) = res["runs"]
    assert res["sweep"] == {} and run["lr"] == 0.003
    reached = run["epochs_to_25"]["running"]
    assert reached is not None and run["stopped"] == "target"
    assert len(run["epochs"]) == reached + 1  # one epoch past the target, then stop
    assert run["running_error"][reached - 1] <= 0.3 and run["running_error"][0] > run["running_error"][-1]
