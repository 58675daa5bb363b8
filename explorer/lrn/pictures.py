"""Pictures of what LRN does: winner maps, changed winners, response curves, before/after grids."""

from __future__ import annotations

import numpy as np

from explorer.colormaps import distinct_colours, levels, lut
from explorer.grids import tile
from explorer.lrn.measures import NO_WINNER, LRNParams


def winner_colours(channels: int) -> np.ndarray:
    """(channels + 1, 3) uint8: a distinct colour per channel, black last for NO_WINNER."""
    return np.concatenate([distinct_colours(channels), np.zeros((1, 3), dtype=np.uint8)])


def winner_image(winners: np.ndarray, channels: int, scale: int = 1) -> np.ndarray:
    """uint8 (H*scale, W*scale, 3) picture of a winner map: one colour per channel, black where none wins."""
    palette = winner_colours(channels)
    image = palette[np.where(winners == NO_WINNER, channels, winners)]
    return image.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else image


def change_image(before: np.ndarray, after: np.ndarray, scale: int = 1) -> np.ndarray:
    """uint8 RGB: white where the winner changed, grey where it stayed, black where nothing was active."""
    image = np.full((*before.shape, 3), 110, dtype=np.uint8)
    image[before != after] = 255
    image[before == NO_WINNER] = 0
    return image.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else image


def response_figure(columns: dict[str, np.ndarray], params: LRNParams, mark: float | None = None):
    """matplotlib Figure of ``response_curves`` columns, with b = a (no LRN) for reference."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 3.6), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    a = columns["input"]
    ax.plot(a, a, color="0.6", lw=1, ls=":", label="no LRN (b = a)")
    for name, values in columns.items():
        if name != "input":
            ax.plot(a, values, lw=1.8, label=f"neighbour energy {name.split('=', 1)[1]}")
    if mark is not None and 0 < mark <= a[-1]:
        ax.axvline(mark, color="crimson", lw=1, ls="--", label=f"99th percentile of this image's conv1 ({mark:.3g})")
    top = max(float(np.max(v)) for k, v in columns.items() if k != "input")
    ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    ax.set_xlim(0, a[-1])
    ax.set_xlabel("input activation a (after ReLU)")
    ax.set_ylabel("output b")
    ax.set_title(
        f"k={params.k:g}, n={params.size}, alpha={params.alpha:g} ({params.alpha_convention}: "
        f"alpha'={params.effective_alpha:.3g}), beta={params.beta:g}", fontsize=9,
    )
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def channel_pair(before: np.ndarray, after: np.ndarray, channel: int) -> np.ndarray:
    """(2, H, W): one channel before and after LRN, ready to tile on one shared colour scale."""
    if not 0 <= channel < before.shape[0]:
        raise IndexError(f"channel {channel} out of range 0..{before.shape[0] - 1}")
    return np.stack([before[channel], after[channel]])


def shared_range_grids(
    before: np.ndarray, after: np.ndarray, *, colormap: str = "viridis", scale: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """All channels before and after LRN as two tiled uint8 RGB images on one colour scale.

    One range (the smaller minimum to the larger maximum of the two) for both grids,
    so LRN's division shows as a darker "after" grid, not hidden by re-stretching.
    """
    if before.shape != after.shape or before.ndim != 3:
        raise ValueError(f"expected two (C, H, W) arrays of one shape, got {before.shape} and {after.shape}")
    # float32 throughout, as for the feature grids, so a value gets the same colour on every page.
    before, after = before.astype(np.float32, copy=False), after.astype(np.float32, copy=False)
    lo, hi = min(before.min(), after.min()), max(before.max(), after.max())
    colours = lut(colormap)
    grid_before, grid_after = (tile(colours[levels(maps, lo, hi)], pad=1, scale=scale) for maps in (before, after))
    return grid_before, grid_after
