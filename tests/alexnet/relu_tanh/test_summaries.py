"""summaries.ratio by hand: a measured ratio, and the bounds when one activation never reached 25%."""

from __future__ import annotations

from alexnet.relu_tanh.config import ACTIVATIONS
from alexnet.relu_tanh.summaries import ratio
from tests.alexnet.relu_tanh.synthetic import make_run


def _runs(relu_errors, tanh_errors, seed=0, relu_diverged=False):
    relu, tanh = make_run("relu", seed, relu_errors), make_run("tanh", seed, tanh_errors)
    relu["diverged"] = relu_diverged
    return [relu, tanh]


def test_both_at_25_percent_give_the_ratio_and_no_bounds():
    out = ratio(_runs([0.5, 0.2], [0.6, 0.5, 0.4, 0.2]), "running", ACTIVATIONS)  # ReLU at epoch 2, tanh at 4
    assert out["mean"] == 2.0 and out["n"] == 1
    assert out["lower_bound_per_seed"] == {} and out["upper_bound_per_seed"] == {}


def test_tanh_short_of_25_percent_gives_a_lower_bound():
    out = ratio(_runs([0.5, 0.2], [0.6, 0.5, 0.4]), "running", ACTIVATIONS)  # tanh needs at least epoch 4
    assert out["mean"] is None and out["lower_bound_per_seed"] == {"0": 2.0}  # (3 + 1) / 2


def test_relu_short_of_25_percent_gives_an_upper_bound_unless_it_diverged():
    out = ratio(_runs([0.9] * 5, [0.6, 0.5, 0.2]), "running", ACTIVATIONS)  # ReLU needs at least epoch 6
    assert out["mean"] is None and out["upper_bound_per_seed"] == {"0": 0.5}  # 3 / (5 + 1)
    assert out["lower_bound_per_seed"] == {}
    diverged = ratio(_runs([1.0], [0.6, 0.5, 0.2], relu_diverged=True), "running", ACTIVATIONS)
    assert diverged["upper_bound_per_seed"] == {}
