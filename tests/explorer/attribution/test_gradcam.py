"""Grad-CAM on the region network: the map lives on the explained class's region; AlexNet's map is 13x13 -> 227."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alexnet import AlexNet
from explorer.attribution import default_layer, gradcam, gradcam_cells
from explorer.attribution._common import upsample
from explorer.receptive_field import paper_fields
from tests.explorer.attribution.region_net import REGIONS, SIZE, inside, outside_share, peak


def test_each_class_map_peaks_in_its_region(region_net, image):
    assert default_layer(region_net) == "relu2"
    for target in (None, 0, 1):
        heat = gradcam(region_net, image, target)
        region = REGIONS[0 if target is None else target]
        assert heat.shape == (SIZE, SIZE) and heat.dtype == np.float32
        assert inside(peak(heat), region)
        # 2x2 pooling cells and bilinear placement spread the map a few pixels past the region, no further.
        assert outside_share(heat, region, margin=3) < 0.02


def test_cells_are_the_layer_resolution_and_the_callers_tensor_is_untouched(region_net, image):
    before = image.clone()
    cells = gradcam_cells(region_net, image.unsqueeze(0), 1)
    assert cells.shape == (SIZE // 2, SIZE // 2)
    assert (cells >= 0).all()  # rectified, as in the paper
    assert not image.requires_grad and torch.equal(image, before)
    with pytest.raises(KeyError, match="unknown layer 'conv9'"):
        gradcam(region_net, image, 0, layer="conv9")


def test_training_mode_is_refused(image):
    from tests.explorer.attribution.region_net import RegionNet

    with pytest.raises(ValueError, match="eval mode"):
        gradcam(RegionNet().train(), image)


def test_cells_land_on_their_fields_centres():
    """conv5's unit y is centred at pixel 17 + 16y: a single hot cell peaks there in the 227 map."""
    field = paper_fields()["relu5"]
    for y, x in [(0, 0), (6, 6), (12, 3)]:
        cells = torch.zeros(13, 13)
        cells[y, x] = 1.0
        heat = upsample(cells, (227, 227), field)
        cy, cx = 17 + 16 * y, 17 + 16 * x
        assert heat[cy, cx] == pytest.approx(1.0) and heat.max() == pytest.approx(1.0)
        assert heat[cy, cx + 8] == pytest.approx(0.5) and heat[cy, cx + 16] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
def test_alexnet_map_has_the_input_size():
    model = AlexNet(num_classes=4, towers=2).eval()
    x = torch.randn(3, 227, 227) * 40
    heat = gradcam(model, x, 2)
    assert heat.shape == (227, 227) and np.isfinite(heat).all() and (heat >= 0).all()
    # The shared model is left as it was: no hooks, no gradients stored in its parameters.
    assert all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
