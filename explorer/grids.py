"""Laying many small images (feature maps, kernels) out on one near-square grid."""

from __future__ import annotations

import numpy as np

__all__ = ["grid_shape", "tile"]


def grid_shape(count: int, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of the tiling of ``count`` images: near-square, wider than tall."""
    if cols is None:
        cols = int(np.ceil(np.sqrt(count)))
    cols = max(1, min(cols, count))
    return int(np.ceil(count / cols)), cols


def tile(tiles: np.ndarray, *, cols: int | None = None, pad: int = 1, scale: int = 1, fill: int = 255) -> np.ndarray:
    """(N, h, w[, 3]) images laid out row by row, ``pad`` pixels of ``fill`` between them.

    Each image is first enlarged ``scale`` times by pixel repetition (no blur). The result keeps the
    tiles' dtype, so palette indices (uint8 or uint16) tile as well as uint8 pixels.
    """
    if scale > 1:
        tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w = tiles.shape[:3]
    colour = tiles.shape[3:]
    rows, cols = grid_shape(n, cols)
    cells = np.full((rows * cols, h + pad, w + pad, *colour), fill, dtype=tiles.dtype)
    cells[:n, :h, :w] = tiles
    # (rows, cols, h+pad, w+pad) -> (rows, h+pad, cols, w+pad): one copy instead of a loop over tiles.
    canvas = (
        cells.reshape(rows, cols, h + pad, w + pad, *colour)
        .swapaxes(1, 2)
        .reshape(rows * (h + pad), cols * (w + pad), *colour)
    )
    return np.ascontiguousarray(canvas[: canvas.shape[0] - pad, : canvas.shape[1] - pad])
