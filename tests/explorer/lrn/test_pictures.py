"""explorer.lrn.pictures: winner pictures and before/after grids, checked pixel by pixel."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.lrn.measures import NO_WINNER, winner_shift_rows
from explorer.lrn.pictures import change_image, channel_pair, shared_range_grids, winner_colours, winner_image


def test_winner_pictures_and_shifts():
    before = np.array([[0, 1], [NO_WINNER, 2]])
    after = np.array([[0, 2], [NO_WINNER, 2]])
    palette = winner_colours(3)
    image = winner_image(before, 3, scale=2)
    assert image.shape == (4, 4, 3) and image.dtype == np.uint8
    assert (image[0, 0] == palette[0]).all() and (image[2, 0] == 0).all()  # no winner: black
    assert len({tuple(c) for c in palette[:3]}) == 3
    changed = change_image(before, after)
    assert changed[0, 1].tolist() == [255, 255, 255] and changed[1, 0].tolist() == [0, 0, 0]
    assert changed[0, 0].tolist() == [110, 110, 110]
    # channel 1 loses its only position to channel 2; channel 0 is unchanged and not listed.
    assert winner_shift_rows(before, after, 3) == [
        {"channel": 1, "wins_before": 1, "wins_after": 0, "change": -1},
        {"channel": 2, "wins_before": 1, "wins_after": 2, "change": 1},
    ]
    pair = channel_pair(np.ones((3, 2, 2)), np.zeros((3, 2, 2)), 1)
    assert pair.shape == (2, 2, 2) and pair[0].sum() == 4 and pair[1].sum() == 0
    with pytest.raises(IndexError):
        channel_pair(np.ones((3, 2, 2)), np.ones((3, 2, 2)), 3)


def test_shared_range_grids_use_one_scale_for_both():
    from matplotlib import colormaps

    before = np.array([[[0.0, 4.0], [1.0, 1.0]], [[2.0, 2.0], [2.0, 2.0]]])
    after = before / 2  # what a uniform LRN division looks like
    grid_b, grid_a = shared_range_grids(before, after)
    assert grid_b.shape == grid_a.shape == (2, 5, 3)  # two 2x2 maps side by side, 1 pixel apart
    lut = (colormaps["viridis"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
    assert grid_b[0, 1].tolist() == lut[255].tolist()  # 4: the top of the shared range
    assert grid_a[0, 1].tolist() == lut[128].tolist()  # 2 after the division: half way, not re-stretched
    assert grid_a[0, 0].tolist() == lut[0].tolist()
    with pytest.raises(ValueError):
        shared_range_grids(before, after[:1])
