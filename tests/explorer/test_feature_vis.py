"""explorer.feature_vis on a tiny network whose channels detect colours: the picture takes the channel's colour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.feature_vis import channel_response, visualise_channel
from tests.explorer.test_dataset_examples import TinyNet


@pytest.fixture(autouse=True)
def _one_thread():
    # Hundreds of tiny ops: with 2 threads on a loaded 2-core machine they wait at OpenMP barriers (10 s vs 1 s).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def net() -> TinyNet:
    """conv1: channel 0 = red - green, channel 1 = blue - red; conv2 copies them (after a ReLU and a 2x2 max pool).

    Differences of colours: the decorrelated parameterisation moves all three together when only
    one is rewarded (brightness), so a single-colour channel would give a bright, not a red, picture.
    """
    return TinyNet(colours=((1.0, -1.0, 0.0), (-1.0, 0.0, 1.0))).eval()


def test_the_picture_takes_the_channels_colour(net):
    calls = []
    red = visualise_channel(net, "conv1", 0, size=32, steps=30, lr=0.3, progress=lambda s, n: calls.append((s, n)))
    assert red.shape == (32, 32, 3) and red.dtype == np.uint8
    assert calls[0] == (1, 30) and calls[-1] == (30, 30)
    r, g, b = red.reshape(-1, 3).mean(axis=0)
    assert r > g + 60, (r, g, b)
    blue = visualise_channel(net, "conv1", 1, size=32, steps=30, lr=0.3)
    r, g, b = blue.reshape(-1, 3).mean(axis=0)
    assert b > r + 60, (r, g, b)
    # Deeper layers work through the ReLU and pooling: conv2 copies channel 0, so red again.
    deep = visualise_channel(net, "conv2", 0, size=32, steps=30, lr=0.3)
    assert channel_response(net, "conv2", 0, deep) > channel_response(net, "conv2", 0, np.full_like(deep, 128)) + 50


def test_deterministic_and_the_model_is_untouched(net):
    a = visualise_channel(net, "conv1", 0, size=16, steps=5, seed=4)
    b = visualise_channel(net, "conv1", 0, size=16, steps=5, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, visualise_channel(net, "conv1", 0, size=16, steps=5, seed=5))
    assert all(p.grad is None for p in net.parameters())
    # The mean colour the model subtracts shifts what the optimum looks like, not whether it is found.
    mean = torch.tensor([100.0, 110.0, 120.0])
    shifted = visualise_channel(net, "conv1", 0, size=16, steps=20, lr=0.3, mean_rgb=mean)
    assert shifted[..., 0].mean() > shifted[..., 1].mean()


def test_refusals(net):
    with pytest.raises(KeyError, match="unknown layer 'conv7'; known: conv1, relu1, pool1, conv2, relu2, pool2"):
        visualise_channel(net, "conv7", 0, steps=1)
    with pytest.raises(IndexError, match="channels 0..1"):
        visualise_channel(net, "conv1", 2, steps=1)
    with pytest.raises(ValueError, match="eval mode"):
        visualise_channel(TinyNet().train(), "conv1", 0, steps=1)
