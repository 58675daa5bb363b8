"""explorer.channel_views and the "clipped" contrast: top channels, percentile ranges, outlines, maps over the photo."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.activations import feature_grid
from explorer.channel_views import (
    clip_range,
    map_over_photo,
    mean_rgb,
    outline,
    page_channels,
    page_count,
    patch_grid,
    strongest_position,
    top_channels,
)
from explorer.receptive_field import Box, paper_fields


def test_top_channels_by_peak_strongest_first_ties_by_index():
    act = np.zeros((5, 3, 3), np.float32)
    act[3, 1, 1], act[1, 0, 2], act[4, 2, 2] = 5.0, 2.0, 2.0
    assert top_channels(act, 3) == [3, 1, 4]
    assert top_channels(act, 10) == [3, 1, 4, 0, 2]
    assert strongest_position(act[1]) == (0, 2)


def test_clip_range_ignores_a_few_hot_pixels_and_is_never_empty():
    values = np.linspace(0, 1, 10_000).reshape(100, 100)
    values[0, 0] = 1000.0
    lo, hi = clip_range(values)
    assert lo == 0.0 and 0.99 < hi < 1.0
    assert clip_range(np.zeros((4, 4))) == (0.0, 1.0)
    sparse = np.zeros((40, 40))
    sparse[2, 3] = 7.0  # 1,599 zeros: the percentile is 0, so the maximum is the top
    assert clip_range(sparse) == (0.0, 7.0)
    assert clip_range(np.full((3, 3), -2.0))[0] == -2.0


def test_clipped_contrast_brightens_a_sparse_map():
    act = np.zeros((1, 40, 40), np.float32)
    act[0, :, :20] = 1.0
    act[0, 0, 0] = 100.0  # one hot pixel
    plain = feature_grid(act, normalise="per-channel", colormap=None)
    clipped = feature_grid(act, normalise="clipped", colormap=None)
    assert plain[5, 5] < 10 and clipped[5, 5] == 255 and clipped[5, 30] == 0
    with pytest.raises(ValueError, match="clipped"):
        feature_grid(act, normalise="bogus")  # type: ignore[arg-type]


def test_outline_draws_a_frame_inside_the_box_only():
    picture = np.zeros((20, 20, 3), np.uint8)
    framed = outline(picture, Box(2, 3, 12, 15), width=2)
    assert (framed[2, 3:15] == (255, 40, 40)).all() and (framed[11, 3:15] == (255, 40, 40)).all()
    assert (framed[5:9, 6:12] == 0).all() and (framed[:2] == 0).all() and (framed[12:] == 0).all()
    assert picture.max() == 0  # the input is left alone
    assert outline(picture, Box(-10, -10, 5, 5))[0, 0].tolist() == [255, 40, 40]  # clipped to the picture


def test_map_over_photo_has_a_colour_bar_and_the_receptive_field_box():
    photo = np.full((227, 227, 3), 100, np.uint8)
    act = np.zeros((13, 13), np.float32)
    act[6, 6] = 3.0
    field = paper_fields()["conv5"]
    box = field.box(6, 6)
    picture = map_over_photo(photo, act, field, opacity=1.0, box=box)
    assert picture.shape[0] == 227 and picture.shape[1] > 227  # the colour bar to the right
    assert picture[box.top, box.left + 5].tolist() == [255, 40, 40]
    centre = box.top + field.size // 2
    assert picture[centre, centre].sum() > picture[20, 20].sum()  # yellow at the unit's field centre
    assert map_over_photo(photo, act, None, opacity=0.0, title="t").shape[0] > 227  # a title line on top


def test_patch_grid_pages_and_mean_colour():
    grid = patch_grid(np.zeros((9, 11, 11, 3), np.uint8), target=240)
    assert grid.shape == (3 * 77 + 4, 3 * 77 + 4, 3)  # 11 pixels x 7, three across, 2-pixel gaps
    assert page_count(96, 16) == 6 and page_count(0, 16) == 1
    assert list(page_channels(5, 90, 16)) == list(range(80, 90))
    assert list(page_channels(9, 90, 16)) == list(range(80, 90))
    assert all(100 < v < 130 for v in mean_rgb(None))
