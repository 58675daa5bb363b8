"""Heat maps drawn over the photo, with an opacity and a colour bar: an RGB array or PNG bytes (the only drawing here).

The attribution methods return plain (H, W) arrays; this module turns one into the picture people
look at: the photo the network saw (its 227x227 crop), the map through a colormap blended over it,
and a colour bar with the values at its ends and middle, so two maps are compared by their numbers
and not only by their colours. Built with numpy and PIL (no matplotlib figure: ~2 ms instead of
~100 ms per picture, which the dashboard redraws on every opacity change).
"""

from __future__ import annotations

import functools

import numpy as np
from torch import Tensor

from explorer import colormaps
from explorer.figures import png_bytes

__all__ = ["overlay", "overlay_png", "photo_array"]

BAR_WIDTH = 14  # pixels of the colour bar
GAP = 6  # between the photo and the bar, and the bar and its numbers
LABELS_WIDTH = 56  # room for numbers like -0.0123
TITLE_HEIGHT = 18


def photo_array(photo: Tensor | np.ndarray) -> np.ndarray:
    """A uint8 photo as (H, W, 3): from a (3, H, W) or (1, 3, H, W) tensor/array, or (H, W, 3) as it is."""
    array = photo.detach().cpu().numpy() if isinstance(photo, Tensor) else np.asarray(photo)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[0] == 3 and array.shape[-1] != 3:
        array = array.transpose(1, 2, 0)
    if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGB photo, got {array.dtype} {array.shape}")
    return np.ascontiguousarray(array)


def _range(heat: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    """Default range: 0 (or the most negative value) to the largest value; never empty."""
    lo = float(min(0.0, np.nanmin(heat))) if vmin is None else float(vmin)
    hi = float(np.nanmax(heat)) if vmax is None else float(vmax)
    if not hi > lo:
        hi = lo + 1.0
    return lo, hi


@functools.lru_cache(maxsize=1)
def _font():
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=11)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def overlay(
    photo: Tensor | np.ndarray,
    heat: np.ndarray,
    *,
    opacity: float = 0.5,
    colormap: str = "jet",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
    title: str | None = None,
) -> np.ndarray:
    """The photo with ``heat`` blended over it (``opacity`` 0: photo only, 1: map only), uint8 (H', W', 3).

    ``heat`` must have the photo's height and width. Values are coloured on ``vmin``..``vmax``
    (default: 0 or the smallest value, to the largest). With ``colorbar`` the bar and its numbers
    are drawn to the right; ``title`` adds a line above.
    """
    rgb = photo_array(photo)
    heat = np.asarray(heat, dtype=np.float32)
    if heat.shape != rgb.shape[:2]:
        raise ValueError(f"heat map {heat.shape} and photo {rgb.shape[:2]} differ in size")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be between 0 and 1, got {opacity}")
    lo, hi = _range(heat, vmin, vmax)
    table = colormaps.lut(colormap)
    coloured = table[colormaps.levels(np.nan_to_num(heat, nan=lo), np.float32(lo), np.float32(hi))]
    blended = rgb.astype(np.float32) * (1.0 - opacity) + coloured.astype(np.float32) * opacity
    picture = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    if not colorbar and title is None:
        return picture
    return _frame(picture, table if colorbar else None, lo, hi, title)


def _frame(picture: np.ndarray, table: np.ndarray | None, lo: float, hi: float, title: str | None) -> np.ndarray:
    """The picture on a white canvas with the colour bar (top: ``hi``) and its three numbers, and the title."""
    from PIL import Image, ImageDraw

    h, w = picture.shape[:2]
    top = TITLE_HEIGHT if title else 0
    width = w + (GAP + BAR_WIDTH + GAP + LABELS_WIDTH if table is not None else 0)
    canvas = np.full((h + top, width, 3), 255, dtype=np.uint8)
    canvas[top:top + h, :w] = picture
    if table is not None:
        rows = table[np.linspace(255, 0, h).round().astype(int)]  # top row: the highest level
        canvas[top:top + h, w + GAP:w + GAP + BAR_WIDTH] = rows[:, None, :]
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    font = _font()
    if title:
        draw.text((2, 2), title, fill=(0, 0, 0), font=font)
    if table is not None:
        x = w + GAP + BAR_WIDTH + GAP
        for value, y in ((hi, top), ((lo + hi) / 2, top + h // 2 - 6), (lo, top + h - 12)):
            draw.text((x, y), f"{value:.3g}", fill=(0, 0, 0), font=font)
    return np.asarray(image)


def overlay_png(photo: Tensor | np.ndarray, heat: np.ndarray, **options) -> bytes:
    """``overlay(photo, heat, **options)`` as PNG bytes."""
    return png_bytes(overlay(photo, heat, **options))
