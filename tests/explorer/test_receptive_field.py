"""explorer.receptive_field: AlexNet's fields computed by hand, a gradient check, clipping, other geometries."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import alexnet as torchvision_alexnet

from explorer.receptive_field import Box, input_box, paper_fields, receptive_fields

# (size, jump, offset, side) by hand: size += (k-1)*jump, offset -= padding*jump, jump *= stride.
PAPER = {
    "conv1": (11, 4, 0, 55),  # 11x11/4, no padding
    "pool1": (19, 8, 0, 27),  # 3x3/2: 11 + 2*4
    "conv2": (51, 8, -16, 27),  # 5x5 pad 2: 19 + 4*8, offset 0 - 2*8
    "pool2": (67, 16, -16, 13),  # 51 + 2*8
    "conv3": (99, 16, -32, 13),  # 3x3 pad 1: 67 + 2*16
    "conv4": (131, 16, -48, 13),
    "conv5": (163, 16, -64, 13),
    "pool5": (195, 32, -64, 6),  # 163 + 2*16
}


def test_the_paper_networks_fields_by_hand():
    fields = paper_fields()
    for name, expected in PAPER.items():
        f = fields[name]
        assert (f.size, f.jump, f.offset, f.side) == expected, name
    # Activations and LRN keep their conv's field.
    assert fields["relu1"] == fields["conv1"].__class__("relu1", 11, 4, 0, 55, 227)
    assert (fields["lrn2"].size, fields["relu5"].size) == (51, 163)


def test_boxes_are_clipped_to_the_image():
    assert input_box("conv1", 0, 0) == Box(0, 0, 11, 11)
    assert input_box("conv1", 54, 54) == Box(216, 216, 227, 227)  # 54*4 + 11 = 227 exactly
    assert input_box("conv5", 0, 0) == Box(0, 0, 99, 99)  # -64..99: the padding part clipped
    assert input_box("conv5", 6, 6) == Box(32, 32, 195, 195)  # the centre unit sees 163x163
    assert input_box("conv5", 6, 6).height == 163
    assert input_box("conv5", 0, 0, clip=False) == Box(-64, -64, 99, 99)
    with pytest.raises(IndexError):
        input_box("conv5", 13, 0)
    with pytest.raises(KeyError, match="known: conv1"):
        input_box("fc6", 0, 0)


@pytest.mark.parametrize("layer", ["conv1", "pool1", "conv2", "pool2", "conv5", "pool5"])
def test_a_click_on_a_units_field_centre_gives_that_unit(layer):
    field = paper_fields()[layer]
    for y in range(field.side):
        for x in range(field.side):
            box = field.box(y, x, clip=False)
            assert field.unit_at((box.top + box.bottom - 1) / 2, (box.left + box.right - 1) / 2) == (y, x)
    # Off the outer centres (the corners of the photo, beyond it): the edge units.
    assert field.unit_at(-50, 0) == (0, 0)
    assert field.unit_at(10_000, 226) == (field.side - 1, field.side - 1)


def test_a_click_picks_the_nearest_centre_by_hand():
    conv1 = paper_fields()["conv1"]  # centres at 5, 9, 13, ...: pixel 7 is between units 0 and 1 (tie: even unit)
    assert conv1.unit_at(6.9, 7.1) == (0, 1) and conv1.unit_at(20, 3) == (4, 0)


def test_the_field_is_where_the_gradient_is():
    """A unit's output depends on exactly the pixels of its (clipped) box: checked with autograd.

    Average pooling, not max: a max pool's gradient reaches only the winning pixel of each window.
    """
    torch.manual_seed(0)
    model = nn.Sequential()
    model.features = nn.Sequential(
        nn.Conv2d(1, 1, 5, stride=2, padding=2), nn.ReLU(), nn.AvgPool2d(3, 2), nn.Conv2d(1, 1, 3, padding=1)
    )
    with torch.no_grad():
        for m in model.features:
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(1.0)
                m.bias.fill_(10.0)  # keeps every ReLU open, so gradients reach the whole field
    fields = receptive_fields(model, input_size=41)  # 41: every layer divides exactly, as 227 does for AlexNet
    assert set(fields) == {"conv1", "relu1", "pool1", "conv2"}
    x = torch.rand(1, 1, 41, 41, requires_grad=True)
    out = model.features(x)
    assert out.shape[-1] == fields["conv2"].side
    for y, xx in [(0, 0), (4, 3), (9, 9)]:
        (grad,) = torch.autograd.grad(out[0, 0, y, xx], x, retain_graph=True)
        rows, cols = torch.nonzero(grad[0, 0], as_tuple=True)
        seen = Box(int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)
        assert seen == fields["conv2"].box(y, xx), (y, xx)


def test_torchvisions_alexnet_and_unsupported_layers():
    with torch.device("meta"):
        tv = torchvision_alexnet(weights=None)
    fields = receptive_fields(tv, input_size=224)
    assert (fields["conv1"].size, fields["conv1"].offset, fields["conv1"].side) == (11, -2, 55)  # padding 2 at jump 1
    assert (fields["conv5"].size, fields["conv5"].jump) == (163, 16)
    odd = nn.Module()
    odd.features = nn.Sequential(nn.Conv2d(1, 1, (3, 5)))
    with pytest.raises(ValueError, match="non-square"):
        receptive_fields(odd)
    adaptive = nn.Module()
    adaptive.features = nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(2))
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d"):
        receptive_fields(adaptive)
