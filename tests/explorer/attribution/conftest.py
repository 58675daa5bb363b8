"""Fixtures: the region network (tests/explorer/attribution/region_net.py) and an image brighter in region 0."""

from __future__ import annotations

import pytest
import torch

from tests.explorer.attribution.region_net import REGIONS, SIZE, RegionNet


@pytest.fixture(scope="module")
def region_net() -> RegionNet:
    return RegionNet().eval()


@pytest.fixture
def image() -> torch.Tensor:
    """Positive pixels everywhere, brighter in region 0: the predicted class is 0."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, SIZE, SIZE, generator=g) * 50 + 10
    top, left, bottom, right = REGIONS[0]
    x[:, top:bottom, left:right] += 100
    return x
