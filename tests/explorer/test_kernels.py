"""explorer.kernels: pictures of kernels and the colour / orientation scores, on hand-made kernels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models import alexnet as torchvision_alexnet

from alexnet.model import AlexNet
from explorer.grids import tile
from explorer.kernels import (
    channel_slices,
    colour_specificity,
    conv_shape,
    conv_weights,
    kernel_grid,
    kernel_image,
    kernel_scores,
    kernel_slices,
    orientation_selectivity,
    oriented_share,
    random_orientation_threshold,
    tower_summary,
    towers_split,
)

K = 11


def grating(theta_degrees: float, period: float = 4.0, size: int = K) -> np.ndarray:
    """A cosine grating whose stripes run at ``theta_degrees``: the ideal oriented kernel."""
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2
    theta = np.radians(theta_degrees)
    return np.cos(2 * np.pi * (x * np.cos(theta) + y * np.sin(theta)) / period)


def blob(sigma: float = 2.0, size: int = K) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2
    return np.exp(-(x**2 + y**2) / (2 * sigma**2))


# ---- colour specificity --------------------------------------------------------------------------


def test_colour_specificity_of_hand_made_kernels():
    pattern = grating(30)
    grey = np.stack([pattern] * 3)  # R = G = B: no colour at all
    red_only = np.stack([pattern, 0 * pattern, 0 * pattern])  # lives in one channel
    opponent = np.stack([pattern, -pattern, 0 * pattern])  # red minus green: channel mean is zero
    zero = np.zeros((3, K, K))
    scores = colour_specificity(np.stack([grey, red_only, opponent, zero]))
    assert scores == pytest.approx([0.0, 2 / 3, 1.0, 0.0])


def test_colour_specificity_of_random_weights_is_about_two_thirds():
    weights = np.random.default_rng(0).normal(0, 0.01, (2000, 3, K, K))
    assert colour_specificity(weights).mean() == pytest.approx(2 / 3, abs=0.01)


def test_colour_specificity_ignores_scale_and_refuses_non_rgb():
    w = np.random.default_rng(1).normal(size=(4, 3, K, K))
    assert colour_specificity(w) == pytest.approx(colour_specificity(1000 * w))
    with pytest.raises(ValueError, match="RGB kernels"):
        colour_specificity(np.zeros((4, 48, 5, 5)))


# ---- orientation selectivity ---------------------------------------------------------------------


@pytest.mark.parametrize("theta", [0, 30, 45, 90, 135])
def test_gratings_are_strongly_oriented(theta):
    assert orientation_selectivity(grating(theta)[None, None])[0] > 0.8


def test_isotropic_kernels_and_noise_are_not_oriented():
    centre_surround = blob(1.5) - blob(3.0)
    noise = np.random.default_rng(2).normal(size=(500, 1, K, K))
    assert orientation_selectivity(centre_surround[None, None])[0] < 0.3
    scores = orientation_selectivity(noise)
    # A 30-degree band is 1/6 of all orientations; the best of 36 bands does somewhat better by chance.
    assert 1 / 6 < scores.mean() < 0.4


def test_oriented_share_is_about_one_percent_for_noise_and_all_for_gratings():
    threshold = random_orientation_threshold((1, K, K))
    # Noise scores about 0.23 on average (above); its 99% quantile must lie above that, well below 0.8.
    assert 0.25 < threshold < 0.5
    fresh_noise = np.random.default_rng(7).normal(size=(4000, 1, K, K))  # not the calibration sample
    assert 0.003 < oriented_share(fresh_noise) < 0.02
    gratings = np.stack([grating(theta) for theta in range(0, 180, 15)])[:, None]
    assert oriented_share(gratings) == 1.0
    assert oriented_share(gratings, quantile=0.5) == 1.0
    # Half gratings, half noise: the share counts the gratings (and at most a few noise kernels).
    mixed = np.concatenate([gratings, fresh_noise[: len(gratings)]])
    assert 0.5 <= oriented_share(mixed) <= 0.5 + 2 / len(mixed)


def test_orientation_selectivity_edge_cases():
    assert orientation_selectivity(np.ones((1, 3, K, K)))[0] == 0.0  # constant: no spectrum left
    rgb = np.stack([grating(60)] * 3)[None]
    assert orientation_selectivity(rgb)[0] == pytest.approx(orientation_selectivity(grating(60)[None, None])[0])
    wider = orientation_selectivity(np.random.default_rng(3).normal(size=(50, 1, K, K)), band_degrees=90)
    assert (wider >= orientation_selectivity(np.random.default_rng(3).normal(size=(50, 1, K, K)))).all()
    with pytest.raises(ValueError, match="fft_size"):
        orientation_selectivity(np.zeros((1, 1, K, K)), fft_size=8)


# ---- pictures ------------------------------------------------------------------------------------


def test_kernel_grid_two_towers_side_by_side():
    w = np.random.default_rng(4).normal(size=(96, 3, K, K)).astype(np.float32)
    grid = kernel_grid(w, "per-kernel", towers=2, scale=1, pad=1, tower_gap=12)
    # Each tower: 6 columns x 8 rows of 11-pixel kernels with 1-pixel gaps -> 71 wide, 95 tall.
    assert grid.shape == (95, 71 + 12 + 71, 3)
    tower1 = tile(np.stack([kernel_image(w, i, scale=1) for i in range(48)]), cols=6, pad=1)
    assert np.array_equal(grid[:, :71], tower1)
    assert (grid[:, 71:83] == 255).all()
    # Kernel 48 (tower 2's first) sits at the top left of the right block.
    assert np.array_equal(grid[:K, 83 : 83 + K], kernel_image(w, 48, scale=1))


def test_kernel_grid_maps_zero_to_grey_and_extremes_to_black_and_white():
    w = np.zeros((2, 3, K, K), np.float32)
    w[0, 0, 0, 0] = 2.0  # kernel 0's largest weight: red channel, top-left pixel
    w[0, 1, 0, 0] = -2.0
    w[1, 2, 5, 5] = 0.5  # a weak kernel
    per_kernel = kernel_grid(w, "per-kernel", scale=1)
    assert per_kernel[0, 0].tolist() == [255, 0, 128]
    assert per_kernel[5, 12 + 5].tolist() == [128, 128, 255]  # stretched to its own maximum
    shared = kernel_grid(w, "shared", scale=1)
    assert shared[5, 12 + 5].tolist() == [128, 128, 159]  # 0.5 of 2.0 -> a quarter of the way up
    with pytest.raises(ValueError, match="towers"):
        kernel_grid(np.zeros((5, 3, K, K)), towers=2)
    with pytest.raises(ValueError, match="first-layer"):
        kernel_grid(np.zeros((4, 48, 5, 5)))


def test_channel_slices_and_kernel_slices_use_a_diverging_map():
    w = np.zeros((4, 2, 3, 3), np.float32)
    w[0, 1, 0, 0] = 1.0
    w[1, 1, 0, 0] = -1.0
    picture = channel_slices(w, 1, "shared", scale=1)
    assert picture.shape == (7, 7, 3)  # 4 kernels -> 2 x 2 tiles of 3x3
    assert picture[0, 0].tolist() == [178, 24, 43]  # positive -> red
    assert picture[0, 4].tolist() == [33, 102, 172]  # negative -> blue
    assert picture[1, 1].tolist() == [247, 247, 247]  # zero -> white
    one_kernel = kernel_slices(w, 0, scale=1)
    assert one_kernel.shape == (3, 7, 3)  # two input channels in one row
    with pytest.raises(IndexError):
        channel_slices(w, 2)
    with pytest.raises(IndexError):
        kernel_slices(w, 4)


def test_weights_and_shapes_come_from_the_model():
    model = AlexNet(num_classes=10, towers=2, init=False)
    assert conv_shape(model, "conv2") == (256, 48, 5, 5, 2)
    w = conv_weights(model, "conv1")
    assert w.shape == (96, 3, 11, 11) and w.dtype == np.float32
    w[:] = 0  # a copy: the model is not changed
    assert model.layer("conv1").weight.abs().sum() > 0
    tv = torchvision_alexnet(weights=None)
    assert conv_shape(tv, "conv1") == (64, 3, 11, 11, 1)


def test_kernel_scores_table():
    w = torch.randn(96, 3, K, K)
    scores = kernel_scores(w, towers=2)
    assert scores["kernel"].tolist() == list(range(96))
    assert scores["tower"].tolist() == [1] * 48 + [2] * 48
    assert np.allclose(scores["colour_specificity"], colour_specificity(w))
    assert np.allclose(scores["norm"], w.flatten(1).norm(dim=1).numpy(), rtol=1e-5)
    assert scores["oriented"].mean() == oriented_share(w)
    by_tower = tower_summary(scores)
    assert [row["tower"] for row in by_tower] == [1, 2]
    assert by_tower[1]["mean_colour_specificity"] == pytest.approx(colour_specificity(w[48:]).mean())
    assert by_tower[0]["oriented_share"] == oriented_share(w[:48])
    assert towers_split(4, 1).tolist() == [1, 1, 1, 1]
