"""A tiny network with a known answer: class c's score depends on the pixels of region c only (any input size)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

SIZE = 32
# (top, left, bottom, right) of each class's region in the 32x32 input.
REGIONS = ((4, 4, 12, 12), (20, 18, 28, 26))


class Regions(nn.Module):
    """(N, 3, H, W) -> (N, 2, H, W): channel c is the pixels' RGB sum inside region c, zero outside."""

    def __init__(self, regions, size: int):
        super().__init__()
        masks = torch.zeros(len(regions), size, size)
        for c, (top, left, bottom, right) in enumerate(regions):
            masks[c, top:bottom, left:right] = 1.0
        self.register_buffer("masks", masks)

    def forward(self, x):
        return x.sum(dim=1, keepdim=True) * self.masks


class RegionNet(nn.Module):
    """features: regions, 3x3 per-channel average, ReLU, 2x2 max pool, 1x1 identity, ReLU (conv2's output is
    zero outside region c's cells); classifier: score c = the sum of channel c."""

    def __init__(self, regions=REGIONS, size: int = SIZE):
        super().__init__()
        conv1 = nn.Conv2d(2, 2, 3, padding=1)
        conv2 = nn.Conv2d(2, 2, 1)
        with torch.no_grad():
            conv1.weight.zero_()
            conv2.weight.zero_()
            for c in range(2):
                conv1.weight[c, c] = 1.0 / 9.0
                conv2.weight[c, c, 0, 0] = 1.0
            conv1.bias.zero_()
            conv2.bias.zero_()
        self.features = nn.Sequential(
            Regions(regions, size), conv1, nn.ReLU(inplace=True), nn.MaxPool2d(2, 2), conv2, nn.ReLU(inplace=True)
        )
        self.classifier = nn.Sequential(nn.Flatten(start_dim=2))

    def forward(self, x):
        return self.classifier(self.features(x)).sum(dim=2)


def peak(heat) -> tuple[int, int]:
    y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return int(y), int(x)


def inside(point, region, margin: int = 0) -> bool:
    top, left, bottom, right = region
    y, x = point
    return top - margin <= y < bottom + margin and left - margin <= x < right + margin


def outside_share(heat, region, margin: int = 0) -> float:
    """Share of the map's total (absolute) mass outside the region grown by ``margin``."""
    heat = np.abs(heat)
    top, left, bottom, right = region
    mask = np.zeros(heat.shape, dtype=bool)
    mask[max(top - margin, 0):bottom + margin, max(left - margin, 0):right + margin] = True
    return float(heat[~mask].sum() / heat.sum())
