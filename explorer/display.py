"""Dashboard display steps as plain functions: layout arithmetic, thumbnails, the array work pages show."""

from __future__ import annotations

import io
import math
import os
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from alexnet.data import DatasetStats
from explorer.activations import (
    LOGITS,
    Normalise,
    PaletteImage,
    capture_activations,
    channel_stats,
    feature_grid,
    feature_grid_indexed,
)
from explorer.grids import tile_at, tile_centre
from explorer.images import to_network_input
from explorer.lrn import LRNParams, analyse_image, channel_pair

GRID_WIDTH = 640  # a layer's grid is about this many pixels wide, whatever the layer
ZOOM_WIDTH = 280  # one feature map, enlarged
TABLE_ROW_PX = 35  # st.dataframe's row height; a table this tall shows every row without scrolling


def limit_torch_threads(threads: int | None = None) -> None:
    """Run torch on ``threads`` threads (default $ALEXNET_DASHBOARD_THREADS, else 1; 0 leaves torch's own).

    Everything the dashboard computes is one image at a time: small ops, where a multi-threaded pool
    mostly waits at barriers, and the more so when other sessions or processes want the cores. Measured
    on the project's shared 2-vCPU machine (BENCHMARKS.md, row 4, same script, both counts): upload
    -> all grids ready 203-219 ms with 1 thread against 354-542 ms with 2. Process-wide, so the
    dashboard calls it once, on import of the helper every page uses (pages/state.py).
    """
    if threads is None:
        threads = int(os.environ.get("ALEXNET_DASHBOARD_THREADS", "1"))
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def fit_scale(side: int, target: int) -> int:
    """The whole-pixel enlargement that brings ``side`` pixels up to about ``target`` (at least 1)."""
    return max(1, target // side)


def grid_scale(channels: int, width: int, target: int = GRID_WIDTH) -> int:
    """Enlargement of a square-ish grid of ``channels`` maps ``width`` wide (1-pixel gaps) to ~``target``."""
    return fit_scale(math.ceil(math.sqrt(channels)) * (width + 1), target)


def table_height(rows: int, row_px: int = TABLE_ROW_PX) -> int:
    """Pixel height of an st.dataframe showing ``rows`` rows and its header without a scroll bar."""
    return row_px * (rows + 1) + 3


def forward_pass(model: nn.Module, image: Image.Image, data_stats: DatasetStats | None) -> dict[str, Any]:
    """One image through ``model`` (eval mode, left untouched), as numpy arrays.

    {"input": uint8 (227, 227, 3) crop the network sees, "maps": {layer: float32 (C, H, W)},
    "logits": float32 (classes,)}.
    """
    view, x = to_network_input(image, data_stats)
    captured = capture_activations(model, x)
    logits = captured.pop(LOGITS)[0].numpy()
    return {
        "input": view.transpose(1, 2, 0),
        "maps": {name: t[0].numpy() for name, t in captured.items()},
        "logits": logits,
    }


def draw_layer(act: np.ndarray, normalise: Normalise) -> dict[str, Any]:
    """A layer's grid of maps at about ``GRID_WIDTH`` pixels, its shape and its per-channel statistics.

    {"grid": PaletteImage, "shape": (C, H, W), "stats": channel_stats}. Small maps (6x6) are enlarged
    by pixel repetition. Palette indices, not RGB: the colormap is applied to 255 colours instead of to
    every pixel, and the PNG is an 8-bit palette one (lossless, a third of the data to compress).
    BENCHMARKS.md, row 4.
    """
    channels, _height, width = act.shape
    grid = feature_grid_indexed(act, normalise=normalise, scale=grid_scale(channels, width))
    return {"grid": grid, "shape": act.shape, "stats": channel_stats(act)}


def grid_channel_at(shape: tuple[int, int, int], x: float, y: float) -> int | None:
    """The channel under pixel (``x``, ``y``) of ``draw_layer``'s grid for a (C, H, W) layer; None off the maps."""
    channels, height, width = shape
    scale = grid_scale(channels, width)
    return tile_at(x, y, channels, (height * scale, width * scale), pad=1)


def grid_channel_centre(shape: tuple[int, int, int], channel: int) -> tuple[float, float]:
    """(x, y) of the centre of ``channel``'s map in ``draw_layer``'s grid: where to click to pick it."""
    channels, height, width = shape
    scale = grid_scale(channels, width)
    return tile_centre(channel, channels, (height * scale, width * scale), pad=1)


def channel_picture(act: np.ndarray, channel: int, target: int = ZOOM_WIDTH) -> PaletteImage:
    """One feature map of ``act`` (C, H, W) enlarged to about ``target`` pixels, on its own contrast."""
    return feature_grid_indexed(
        act[channel : channel + 1], normalise="per-channel", scale=fit_scale(act.shape[-1], target), pad=0
    )


def before_after_picture(before: np.ndarray, after: np.ndarray, channel: int, target: int = ZOOM_WIDTH) -> np.ndarray:
    """One channel before (left) and after (right) LRN, each about ``target`` pixels, one colour scale."""
    scale = fit_scale(before.shape[1], target)
    return feature_grid(channel_pair(before, after, channel), normalise="shared", cols=2, pad=4, scale=scale)


def lrn_analysis(
    model: nn.Module, image: Image.Image, data_stats: DatasetStats | None, params: LRNParams, with_logits: bool
) -> dict:
    """``explorer.lrn.analyse_image`` of ``image`` as the network sees it."""
    _, x = to_network_input(image, data_stats)
    return analyse_image(model, x, params, with_logits=with_logits)


def thumbnail_jpeg(image: Image.Image, width: int, quality: int = 90) -> bytes:
    """JPEG of ``image`` at exactly ``width`` pixels wide, aspect ratio kept (at least 1 pixel high)."""
    height = max(1, round(image.height * width / image.width))
    buffer = io.BytesIO()
    image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=3.0).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
