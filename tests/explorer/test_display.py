"""explorer.display: the dashboard's layout arithmetic, thumbnails and array steps, checked by hand."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet import AlexNet
from explorer.activations import capture_activations, channel_stats, feature_grid_indexed, feature_stages
from explorer.display import (
    before_after_picture,
    channel_picture,
    draw_layer,
    fit_scale,
    forward_pass,
    grid_channel_at,
    grid_channel_centre,
    grid_scale,
    limit_torch_threads,
    lrn_analysis,
    table_height,
    thumbnail_jpeg,
)
from explorer.images import to_network_input
from explorer.lrn import LRNParams, analyse_image


@pytest.fixture(scope="module")
def model() -> AlexNet:
    return AlexNet(num_classes=10, towers=2).eval()  # any weights: each test compares two runs of it


@pytest.fixture(scope="module")
def image() -> Image.Image:
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_threads_from_the_environment_default_one_and_zero_leaves_torch_alone(monkeypatch, restore_threads):
    monkeypatch.setenv("ALEXNET_DASHBOARD_THREADS", "2")
    limit_torch_threads()
    assert torch.get_num_threads() == 2
    monkeypatch.delenv("ALEXNET_DASHBOARD_THREADS")
    limit_torch_threads()
    assert torch.get_num_threads() == 1
    limit_torch_threads(0)
    assert torch.get_num_threads() == 1
    limit_torch_threads(2)
    assert torch.get_num_threads() == 2


def test_scales_and_table_height_by_hand():
    assert fit_scale(13, 280) == 21
    assert fit_scale(55, 300) == 5
    assert fit_scale(1000, 280) == 1  # never below 1: large maps are not shrunk
    assert grid_scale(96, 55) == 1  # 10 columns of 56 pixels: already 560 wide
    assert grid_scale(256, 6) == 5  # 16 columns of 7 pixels, enlarged 5 times
    assert grid_scale(384, 13) == 2  # 20 columns of 14 pixels
    assert table_height(0) == 38 and table_height(14) == 528


@pytest.mark.parametrize("shape", [(96, 55, 55), (256, 13, 13), (256, 6, 6), (3, 2, 2)])
def test_layer_grids_are_about_640_pixels_wide(shape):
    act = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    drawn = draw_layer(act, "per-channel")
    assert drawn["shape"] == shape
    assert 320 < drawn["grid"].shape[1] <= 640
    expected = feature_grid_indexed(act, normalise="per-channel", scale=grid_scale(shape[0], shape[2]))
    np.testing.assert_array_equal(drawn["grid"].rgb(), expected.rgb())
    for name, values in channel_stats(act).items():
        np.testing.assert_array_equal(drawn["stats"][name], values)


@pytest.mark.parametrize("shape", [(96, 55, 55), (256, 6, 6), (384, 13, 13)])
def test_a_click_on_the_drawn_grid_names_the_channel_drawn_there(shape):
    # One channel lit, the rest 0, one shared scale: the pixels that differ from the all-zero layer's grid
    # are exactly that channel's map as drawn, and a click on any of them must name it.
    channels, height, width = shape
    dark = draw_layer(np.zeros(shape, dtype=np.float32), "shared")["grid"].indices
    for lit in (0, channels // 2 + 1, channels - 1):
        act = np.zeros(shape, dtype=np.float32)
        act[lit] = 1.0
        ys, xs = np.nonzero(draw_layer(act, "shared")["grid"].indices != dark)
        assert len(ys) == height * width * grid_scale(channels, width) ** 2
        for y, x in list(zip(ys, xs, strict=True))[:: max(1, len(ys) // 50)]:
            assert grid_channel_at(shape, x + 0.5, y + 0.5) == lit
    assert grid_channel_at(shape, -1, 0) is None and grid_channel_at(shape, 0, 10_000) is None
    assert all(grid_channel_at(shape, *grid_channel_centre(shape, c)) == c for c in range(channels))


def test_shared_contrast_reaches_the_grid():
    act = np.random.default_rng(1).standard_normal((16, 6, 6)).astype(np.float32)
    act[0] *= 100  # one loud channel: on a shared scale every other map is nearly one colour
    assert not np.array_equal(draw_layer(act, "shared")["grid"].rgb(), draw_layer(act, "per-channel")["grid"].rgb())


def test_one_channel_enlarged_on_its_own_contrast():
    act = np.random.default_rng(2).standard_normal((8, 13, 13)).astype(np.float32)
    act[5] *= 1000  # another channel's range must not matter
    picture = channel_picture(act, 3)
    assert picture.shape == (13 * 21, 13 * 21, 3)
    single = feature_grid_indexed(act[3:4], normalise="per-channel", pad=0).rgb()
    np.testing.assert_array_equal(picture.rgb()[::21, ::21], single)


def test_before_after_shares_one_colour_scale():
    before = np.random.default_rng(3).random((4, 10, 10)).astype(np.float32)
    after = before / 2  # LRN divided everything: the right half must look darker
    picture = before_after_picture(before, after, 2)
    scale = fit_scale(10, 280)
    assert picture.shape[0] == 10 * scale and picture.shape[1] > 2 * 10 * scale
    left, right = picture[:, : 10 * scale], picture[:, -10 * scale :]
    assert left.astype(float).mean() > right.astype(float).mean()
    with pytest.raises(IndexError):
        before_after_picture(before, after, 4)


def test_forward_pass_is_the_network_on_its_input_as_numpy(model, image):
    out = forward_pass(model, image, None)
    view, x = to_network_input(image, None)
    assert out["input"].dtype == np.uint8 and out["input"].shape == (227, 227, 3)
    np.testing.assert_array_equal(out["input"], view.transpose(1, 2, 0))
    captured = capture_activations(model, x)
    assert list(out["maps"]) == [s.name for s in feature_stages(model)]
    for name, act in out["maps"].items():
        assert isinstance(act, np.ndarray) and act.shape == tuple(captured[name].shape[1:])
        np.testing.assert_allclose(act, captured[name][0].numpy(), rtol=1e-5, atol=1e-5)
    assert out["logits"].shape == (10,)
    assert not model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_lrn_analysis_is_analyse_image_of_the_network_input(model, image):
    params = LRNParams()
    got = lrn_analysis(model, image, None, params, with_logits=False)
    expected = analyse_image(model, to_network_input(image, None)[1], params, with_logits=False)
    assert list(got["layers"]) == list(expected["layers"]) and "logits_on" not in got
    for layer, data in got["layers"].items():
        np.testing.assert_allclose(data["after"], expected["layers"][layer]["after"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("size", "width", "height"), [((320, 240), 260, 195), ((1000, 1), 260, 1), ((10, 40), 260, 1040)]
)
def test_thumbnail_is_exactly_the_asked_width(size, width, height):
    source = Image.new("RGB", size, (200, 30, 30))
    data = thumbnail_jpeg(source, width)
    thumb = Image.open(io.BytesIO(data))
    assert thumb.format == "JPEG" and thumb.size == (width, height)
    assert abs(int(np.asarray(thumb)[..., 0].mean()) - 200) < 10  # the colour survives
