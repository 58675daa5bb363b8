"""overlay: the blend by hand, the colour bar's ends, sizes, PNG bytes, and refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import colormaps
from explorer.attribution import overlay, overlay_png, photo_array
from explorer.attribution.overlay import BAR_WIDTH, GAP, TITLE_HEIGHT


def test_blend_by_hand_without_decorations():
    photo = np.full((20, 30, 3), 200, dtype=np.uint8)
    heat = np.zeros((20, 30), dtype=np.float32)
    heat[5, 7] = 4.0
    out = overlay(photo, heat, opacity=0.25, colormap="viridis", colorbar=False)
    table = colormaps.lut("viridis")
    assert out.shape == (20, 30, 3)
    np.testing.assert_array_equal(out[5, 7], np.rint(200 * 0.75 + table[255] * 0.25).astype(np.uint8))
    np.testing.assert_array_equal(out[0, 0], np.rint(200 * 0.75 + table[0] * 0.25).astype(np.uint8))
    np.testing.assert_array_equal(overlay(photo, heat, opacity=0.0, colorbar=False), photo)


def test_colour_bar_and_title_frame_the_picture():
    photo = torch.zeros(3, 40, 40, dtype=torch.uint8)  # tensors in (3, H, W) as the pipeline holds them
    heat = np.linspace(-1, 3, 1600, dtype=np.float32).reshape(40, 40)
    out = overlay(photo, heat, title="Grad-CAM: tench", colormap="jet")
    assert out.shape[0] == 40 + TITLE_HEIGHT and out.shape[1] > 40 + GAP + BAR_WIDTH
    bar = out[TITLE_HEIGHT:, 40 + GAP + BAR_WIDTH // 2]
    table = colormaps.lut("jet")
    np.testing.assert_array_equal(bar[0], table[255])  # top: the largest value
    np.testing.assert_array_equal(bar[-1], table[0])
    assert (out[:TITLE_HEIGHT] < 255).any()  # the title was written


def test_png_bytes_and_refusals():
    photo = np.zeros((10, 10, 3), dtype=np.uint8)
    data = overlay_png(photo, np.ones((10, 10)))  # a constant map still gets a usable range
    assert Image.open(io.BytesIO(data)).size[1] == 10
    with pytest.raises(ValueError, match="differ in size"):
        overlay(photo, np.ones((9, 10)))
    with pytest.raises(ValueError, match="opacity"):
        overlay(photo, np.ones((10, 10)), opacity=1.5)
    with pytest.raises(ValueError, match="uint8 RGB"):
        photo_array(np.zeros((10, 10, 3), dtype=np.float32))
    assert photo_array(torch.zeros(1, 3, 4, 5, dtype=torch.uint8)).shape == (4, 5, 3)
