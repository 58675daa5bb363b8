"""Laying many small images (feature maps, kernels) out on one near-square grid."""

from __future__ import annotations

import numpy as np

__all__ = ["grid_shape", "tile", "tile_at"]


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


def tile_at(x: float, y: float, count: int, tile_size: tuple[int, int], *, cols: int | None = None,
            pad: int = 1) -> int | None:
    """Which of ``tile``'s ``count`` images covers pixel (``x``, ``y``) of the tiled picture; None outside them.

    ``tile_size`` is one image's (height, width) as drawn (after ``scale``). A click on the ``pad`` gap
    counts for the image left of or above it (a gap is a pixel or two: a near miss, not a miss); the empty
    cells after the last image and anything outside the picture are None.
    """
    rows, cols = grid_shape(count, cols)
    h, w = tile_size
    if x < 0 or y < 0 or x >= cols * (w + pad) - pad or y >= rows * (h + pad) - pad:
        return None
    index = int(y // (h + pad)) * cols + int(x // (w + pad))
    return index if index < count else None


def tile_centre(index: int, count: int, tile_size: tuple[int, int], *, cols: int | None = None,
                pad: int = 1) -> tuple[float, float]:
    """(x, y) of the centre of ``tile``'s image ``index`` in the tiled picture: ``tile_at``'s inverse."""
    _rows, cols = grid_shape(count, cols)
    h, w = tile_size
    return (index % cols) * (w + pad) + w / 2, (index // cols) * (h + pad) + h / 2
