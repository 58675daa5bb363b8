"""explorer.why_views on the region network: each method's map for a class, passes counted, pictures drawn."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.why_views import attribution_map, attribution_png, occlusion_windows
from tests.explorer.attribution.region_net import REGIONS, SIZE, RegionNet


@pytest.fixture(scope="module")
def net() -> RegionNet:
    return RegionNet().eval()


def test_every_method_points_at_the_class_region(net):
    for target in (0, 1):
        top, left, bottom, right = REGIONS[target]
        # Small values: the class explained is the predicted one, and its probability is not saturated at 1.
        x = torch.rand(3, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) * 0.01
        x[:, top:bottom, left:right] += 0.02
        for method in ("gradcam", "saliency", "occlusion"):
            heat = attribution_map(net, x, method, target, stride=2, patch=6)
            assert heat.shape == (SIZE, SIZE)
            y, xx = np.unravel_index(int(np.argmax(heat)), heat.shape)
            assert top - 8 <= y < bottom + 8 and left - 8 <= xx < right + 8, (method, target, y, xx)
    with pytest.raises(ValueError, match="unknown method"):
        attribution_map(net, torch.zeros(3, SIZE, SIZE), "lime", 0)


def test_passes_and_picture():
    assert [occlusion_windows(227, s) for s in (32, 16, 8)] == [64, 196, 676]
    view = np.full((SIZE, SIZE, 3), 90, np.uint8)
    heat = np.zeros((SIZE, SIZE), np.float32)
    heat[:, :16] = 1.0
    heat[0, 0] = 100.0
    picture = np.asarray(Image.open(io.BytesIO(attribution_png(view, heat, "saliency", opacity=1.0, title="t"))))
    assert picture.shape[1] > SIZE and picture.shape[0] > SIZE  # colour bar and title
    plain = np.asarray(Image.open(io.BytesIO(attribution_png(view, heat, "gradcam", opacity=1.0, title="t"))))
    assert picture[20, 5].tolist() != plain[20, 5].tolist()  # saliency's clip makes the wide region bright
