"""One channel as the dashboard shows it: top channels, clipped maps over the photo, field boxes, patch grids."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch

from alexnet.data import DatasetStats
from explorer.attribution import overlay
from explorer.attribution._common import upsample
from explorer.dataset_examples import UnitExamples
from explorer.display import fit_scale
from explorer.grids import tile
from explorer.images import fixed_mean_stats
from explorer.receptive_field import Box, ReceptiveField

__all__ = [
    "CLIP_PERCENTILE",
    "clip_range",
    "enlarge",
    "map_over_photo",
    "mean_rgb",
    "outline",
    "page_channels",
    "page_count",
    "patch_grid",
    "strongest_position",
    "top_channels",
    "top_examples_caption",
]

CLIP_PERCENTILE = 99.5  # a few very strong positions no longer turn the rest of a sparse map black
OUTLINE = (255, 40, 40)


def top_channels(act: np.ndarray, k: int = 12) -> list[int]:
    """The ``k`` channels of a (C, H, W) layer with the largest maximum, strongest first (ties: lower index)."""
    peaks = np.asarray(act, dtype=np.float64).reshape(act.shape[0], -1).max(axis=1)
    order = np.lexsort((np.arange(len(peaks)), -peaks))  # last key first: by -peak, then by index
    return [int(c) for c in order[: max(0, k)]]


def strongest_position(channel_map: np.ndarray) -> tuple[int, int]:
    """(row, column) of a (H, W) map's maximum (the first one, row by row)."""
    y, x = np.unravel_index(int(np.argmax(channel_map)), channel_map.shape)
    return int(y), int(x)


def clip_range(values: np.ndarray, percentile: float = CLIP_PERCENTILE) -> tuple[float, float]:
    """Colour range: 0 (or the smallest value, if negative) up to the ``percentile``-th value; never empty.

    A sparse map (a few strong positions, the rest small) stretched to its plain maximum is black except
    for those positions; clipping at a high percentile shows the rest. Where the percentile is not above
    the bottom (most values zero), the maximum is the top instead.
    """
    values = np.asarray(values, dtype=np.float64)
    lo = min(0.0, float(values.min()))
    hi = float(np.percentile(values, percentile))
    if not hi > lo:
        hi = float(values.max())
    if not hi > lo:
        hi = lo + 1.0
    return lo, hi


def outline(picture: np.ndarray, box: Box, colour: Sequence[int] = OUTLINE, width: int = 2) -> np.ndarray:
    """A copy of the uint8 (H, W, 3) ``picture`` with ``box`` drawn as a ``width``-pixel frame (inside the box)."""
    out = np.array(picture, dtype=np.uint8, copy=True)
    top, left = max(box.top, 0), max(box.left, 0)
    bottom, right = min(box.bottom, out.shape[0]), min(box.right, out.shape[1])
    if bottom <= top or right <= left:
        return out
    w = max(1, min(width, (bottom - top) // 2 or 1, (right - left) // 2 or 1))
    rgb = np.asarray(colour, dtype=np.uint8)
    out[top:top + w, left:right] = rgb
    out[bottom - w:bottom, left:right] = rgb
    out[top:bottom, left:left + w] = rgb
    out[top:bottom, right - w:right] = rgb
    return out


def map_over_photo(
    photo: np.ndarray,
    channel_map: np.ndarray,
    field: ReceptiveField | None = None,
    *,
    opacity: float = 0.6,
    percentile: float = CLIP_PERCENTILE,
    box: Box | None = None,
    colormap: str = "viridis",
    title: str | None = None,
) -> np.ndarray:
    """One feature map (H, W) over the uint8 (S, S, 3) photo it was computed from, with a colour bar: uint8 RGB.

    Each unit's value sits at its receptive field's centre (``field``; plain resizing without it), the
    colours run over ``clip_range`` (values above the ``percentile``-th get the top colour) and
    ``box`` (a unit's receptive field) is outlined. ``opacity`` 1 shows the map alone.
    """
    size = photo.shape[:2]
    heat = upsample(torch.from_numpy(np.ascontiguousarray(channel_map, dtype=np.float32)), size, field)
    lo, hi = clip_range(channel_map, percentile)
    picture = overlay(photo, heat, opacity=opacity, colormap=colormap, vmin=lo, vmax=hi, colorbar=False)
    if box is not None:
        picture = outline(picture, box)
    # Opacity 0 over the finished picture: only the frame (colour bar with the range's numbers, title) is added.
    return overlay(picture, heat, opacity=0.0, colormap=colormap, vmin=lo, vmax=hi, title=title)


def patch_grid(patches: np.ndarray, *, cols: int = 3, target: int = 240, pad: int = 2) -> np.ndarray:
    """Top patches (k, s, s, 3) on a ``cols``-wide grid about ``target`` pixels wide (whole-pixel enlargement)."""
    scale = fit_scale(patches.shape[1], max(1, target // cols))
    return tile(patches, cols=cols, pad=pad, scale=scale)


def page_count(channels: int, per_page: int) -> int:
    """How many pages of ``per_page`` channels it takes to show ``channels`` (at least 1)."""
    return max(1, math.ceil(channels / per_page))


def page_channels(page: int, channels: int, per_page: int) -> range:
    """The channels on page ``page`` (0-based; clamped to the last page)."""
    page = min(max(page, 0), page_count(channels, per_page) - 1)
    return range(page * per_page, min(channels, (page + 1) * per_page))


def mean_rgb(data_stats: DatasetStats | None) -> tuple[float, float, float]:
    """The mean colour a model subtracts (its training mean image averaged; ImageNet's without statistics)."""
    stats = data_stats if data_stats is not None else fixed_mean_stats()
    return tuple(float(v) for v in stats.mean_image.float().mean(dim=(1, 2)))  # type: ignore[return-value]


def top_examples_caption(index: UnitExamples, layer: str, channel: int, readable: Sequence[str] | None = None) -> str:
    """One line on a channel's top images: how many of how many, their classes (most frequent first), the peaks.

    ``readable``: names for ``index.classes`` (the folder names), in the same order.
    """
    e = index.layers[layer]
    names = list(readable) if readable is not None and len(readable) == len(index.classes) else index.classes
    classes = Counter(names[int(index.labels[i])] for i in e.images[channel])
    listed = ", ".join(f"{name} x{count}" if count > 1 else name for name, count in classes.most_common())
    values = e.values[channel]
    what = "channel" if e.field is not None else "unit"
    return (f"{layer} {what} {channel}: its top {len(values)} of {len(index.paths):,} images ({listed}); "
            f"peak {float(values[0]):.3g} down to {float(values[-1]):.3g}")


def enlarge(picture: np.ndarray, scale: int) -> np.ndarray:
    """A uint8 (H, W, 3) picture ``scale`` times larger by pixel repetition (contiguous, ready for PNG)."""
    return np.ascontiguousarray(picture.repeat(scale, axis=0).repeat(scale, axis=1))
