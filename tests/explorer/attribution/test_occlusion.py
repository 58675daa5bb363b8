"""Occlusion on the region network (only patches over the region lower the score), its windows, and Captum's numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.attribution import grey_fill, occlusion, window_starts
from tests.explorer.attribution.region_net import REGIONS, SIZE, inside, outside_share, peak


def test_windows_reach_the_far_edge():
    assert window_starts(227, 32, 16) == [*range(0, 196, 16), 195]
    assert window_starts(32, 8, 8) == [0, 8, 16, 24]
    assert window_starts(10, 32, 4) == [0]  # a patch larger than the image covers it once
    with pytest.raises(ValueError):
        window_starts(10, 0, 1)


@pytest.mark.parametrize("score", ["logit", "probability"])
def test_only_patches_over_the_region_matter(region_net, image, score):
    calls = []
    if score == "probability":
        image = image * 1e-3  # logits of a few units: the softmax is not saturated
    for target, region in ((0, REGIONS[0]), (1, REGIONS[1])):
        heat = occlusion(region_net, image, target, patch=6, stride=2, score=score, batch_size=16,
                         progress=lambda done, total: calls.append((done, total)))
        assert heat.shape == (SIZE, SIZE) and heat.dtype == np.float32
        assert inside(peak(heat), region)
        # A window touches the region from up to patch - 1 pixels away; beyond that nothing lowers the
        # score. (The probability of class 1 *rises* when region 0 is hidden: the softmax's other term.)
        assert outside_share(np.clip(heat, 0, None), region, margin=5) == 0.0
        if score == "logit":
            assert (heat >= 0).all()  # hiding positive pixels can only lower a sum of them
    windows = len(window_starts(SIZE, 6, 2)) ** 2
    assert calls[-1] == (windows, windows) and calls[0] == (16, windows)


def test_matches_captums_occlusion_where_the_windows_agree(region_net, image):
    from captum.attr import Occlusion

    ours = occlusion(region_net, image, 1, patch=8, stride=4, score="logit", fill=3.0)
    theirs = Occlusion(region_net).attribute(image.unsqueeze(0), sliding_window_shapes=(3, 8, 8), strides=(3, 4, 4),
                                             target=1, baselines=3.0)
    # Captum sums over colour channels' windows too (one window spans all 3): compare per pixel.
    np.testing.assert_allclose(ours, theirs[0, 0].numpy(), rtol=1e-5, atol=1e-3)


def test_fill_values(region_net, image):
    mean = torch.full((3, 40, 40), 100.0)
    grey = grey_fill(mean, crop=SIZE)
    assert grey.shape == (3, SIZE, SIZE) and torch.all(grey == 28.0)
    a = occlusion(region_net, image, 0, patch=8, stride=8, fill=grey, score="logit")
    b = occlusion(region_net, image, 0, patch=8, stride=8, fill=28.0, score="logit")
    np.testing.assert_allclose(a, b)
    with pytest.raises(ValueError, match="does not fit"):
        occlusion(region_net, image, 0, fill=torch.zeros(3, 5, 5))
    with pytest.raises(ValueError, match="score"):
        occlusion(region_net, image, 0, score="loss")


def test_a_raising_callback_stops_the_work(region_net, image):
    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop

    with pytest.raises(Stop):
        occlusion(region_net, image, 0, patch=4, stride=2, batch_size=4, progress=stop)
