"""Every colour table the pictures use: values to 0..255 levels, colormap lookups, the diverging and distinct palettes.

One place for colour, so a feature grid, an LRN grid, a kernel slice and a winner map that show the
same value show it in the same colour.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["diverging", "distinct_colours", "levels", "lut", "palette"]

# Diverging map for signed values: negative blue, zero white, positive red (a three-colour ramp needs
# no matplotlib).
_NEG = np.array([33, 102, 172], dtype=np.float32)
_MID = np.array([247, 247, 247], dtype=np.float32)
_POS = np.array([178, 24, 43], dtype=np.float32)


def levels(values: np.ndarray, lo: np.ndarray | np.floating, hi: np.ndarray | np.floating) -> np.ndarray:
    """uint8 levels 0..255 of ``values`` on the range ``lo``..``hi`` (arrays broadcast, e.g. per channel).

    Computed in float32 (``values`` is cast; ``lo`` and ``hi`` should be float32 too, or float64 would
    leak in); a zero-width range gives level 0, the bottom.
    """
    span = hi - lo
    # (values - lo) / span * 255 in one float32 temporary, in place: a whole layer's maps at once.
    unit = np.subtract(values, lo, dtype=np.float32)
    unit /= np.where(span > 0, span, np.float32(1))
    unit *= np.float32(255)
    np.rint(unit, out=unit)
    np.clip(unit, 0, 255, out=unit)
    return unit.astype(np.uint8)


def lut(name: str) -> np.ndarray:
    """(256, 3) uint8: matplotlib colormap ``name`` sampled at the 256 levels."""
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)


@functools.lru_cache(maxsize=8)
def palette(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(palette, index of each level): the colormap's distinct colours plus white as the last entry.

    256 levels of viridis hold only 254 distinct uint8 colours, so the palette with white fits a
    PNG palette (at most 256 entries) and the image encodes as one byte per pixel, exactly.
    Cached and read-only.
    """
    colours, index_of_level = np.unique(lut(name), axis=0, return_inverse=True)
    entries = np.concatenate([colours, np.full((1, 3), 255, dtype=np.uint8)])
    dtype = np.uint8 if len(entries) <= 256 else np.uint16
    index_of_level = index_of_level.reshape(-1).astype(dtype)
    entries.setflags(write=False)
    index_of_level.setflags(write=False)
    return entries, index_of_level


def diverging(values: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Values to blue (-bound) - white (0) - red (+bound), uint8 RGB in a new last axis."""
    bound = np.where(bound > 0, bound, 1.0)
    t = np.clip(values / bound, -1.0, 1.0)[..., None]
    rgb = np.where(t >= 0, _MID + t * (_POS - _MID), _MID + (-t) * (_NEG - _MID))
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def distinct_colours(n: int) -> np.ndarray:
    """(n, 3) uint8: n colours that neighbours tell apart (golden-ratio hues, alternating saturation and value)."""
    from matplotlib.colors import hsv_to_rgb

    hue = (np.arange(n) * 0.6180339887) % 1.0
    sat = np.where(np.arange(n) % 2 == 0, 0.75, 0.5)
    val = np.where(np.arange(n) % 3 == 0, 0.95, 0.8)
    return np.round(hsv_to_rgb(np.stack([hue, sat, val], axis=1)) * 255).astype(np.uint8)
