"""One training run: epochs to 25%, a run that reaches its target and stops, input scale, the mechanism record."""

from __future__ import annotations

import pytest
import torch

from alexnet.relu_tanh.config import ReluTanhConfig
from alexnet.relu_tanh.experiment import run_experiment
from alexnet.relu_tanh.training import _prepare, _train, epochs_to_target
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


def test_unit_variance_inputs_have_unit_variance_per_channel():
    data = learnable_cifar(n_train=300)
    d = _prepare(data, ReluTanhConfig.quick(input_norm="unit-variance", channels_last=False), None)
    x = d.batch(d.train_x)
    assert x.mean(dim=(0, 2, 3)).abs().max() < 1e-4  # centred (the mean image is subtracted)
    assert x.var(dim=(0, 2, 3), unbiased=False).sub(1).abs().max() < 1e-4
    raw = _prepare(data, ReluTanhConfig.quick(channels_last=False), None)
    assert raw.inv_std is None and raw.batch(raw.train_x).std() > 20  # the paper's 0..255 scale
    assert len(d.probe_x) == 64 and torch.equal(d.probe_x, d.train_x[:64])  # the quick config's probe


@pytest.mark.slow
def test_mechanism_record_per_epoch_without_changing_training():
    data = learnable_cifar(n_train=256)
    cfg = ReluTanhConfig.quick(threads=1, train_images=256, eval_train_images=64)
    d = _prepare(data, cfg, None)
    plain = _train(d, cfg, "tanh", 0.01, 0, 2, False, lambda m: None)
    curve = _train(d, cfg, "tanh", 0.01, 0, 2, False, lambda m: None, mechanism=True)
    assert "mechanism" not in plain and curve["running_error"] == plain["running_error"]  # one forward pass, no RNG
    m = curve["mechanism"]
    assert m["epochs"] == [0, 1, 2] and m["threshold"] == 0.9 and m["images"] == 64
    assert set(m["saturated"]) == {"conv1", "conv2", "conv3"}
    assert set(m["weight_std"]) == {"conv1", "conv2", "conv3", "fc"}
    assert all(len(v) == 3 and all(0.0 <= s <= 1.0 for s in v) for v in m["saturated"].values())
    assert m["weight_std"]["conv1"][0] == pytest.approx(1e-4, rel=0.2)  # layers-19pct's conv1 at init
    assert m["saturated"]["conv1"][0] == 0.0  # tiny init: nothing saturated before training
    relu = _train(d, cfg, "relu", 0.01, 0, 1, False, lambda m: None, mechanism=True)["mechanism"]
    assert relu["saturated"] == {} and len(relu["weight_std"]["fc"]) == 2


def test_a_run_at_chance_stops_as_stalled_and_old_files_had_no_such_rule():
    from alexnet.data.cifar10 import CLASSES, Cifar10

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (308, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (308,), generator=g)  # random labels: nothing to learn, error stays near 90%
    data = Cifar10(images[:300], labels[:300], images[300:], labels[300:], CLASSES, "random")
    cfg = ReluTanhConfig.quick(threads=1, train_images=None, eval_train_images=0, stall_epochs=2, max_epochs=6)
    d = _prepare(data, cfg, None)
    curve = _train(d, cfg, "relu", 1e-9, 0, cfg.max_epochs, True, lambda m: None)  # too small a rate to learn
    assert curve["stopped"] == "stalled" and len(curve["running_error"]) == 2, curve["running_error"]
    assert ReluTanhConfig().stall_epochs == 10
    assert ReluTanhConfig.from_dict({"max_epochs": 40}).stall_epochs == 0  # a file from before the rule
