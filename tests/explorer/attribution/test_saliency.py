"""Saliency on the region network: the gradient is exactly zero outside the explained class's region."""

from __future__ import annotations

import numpy as np

from explorer.attribution import saliency
from tests.explorer.attribution.region_net import REGIONS, SIZE, inside, outside_share, peak


def test_gradient_lives_in_the_region_of_the_class(region_net, image):
    for target, region in ((None, REGIONS[0]), (0, REGIONS[0]), (1, REGIONS[1])):
        heat = saliency(region_net, image, target)
        assert heat.shape == (SIZE, SIZE) and heat.dtype == np.float32
        assert inside(peak(heat), region)
        assert outside_share(heat, region) == 0.0
        top, left, bottom, right = region
        assert (heat[top:bottom, left:right] > 0).all()
