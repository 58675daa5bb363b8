"""conv1 over training as an animated GIF, one labelled frame per saved epoch (the Training page's play)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from explorer.kernels import Contrast, kernel_grid
from explorer.snapshots import conv1_at, saved_epochs

HEADER_PX = 18  # a white strip above each frame for "epoch N"


def _frame(weight: np.ndarray, towers: int, contrast: Contrast, label: str, scale: int) -> Image.Image:
    grid = kernel_grid(weight, contrast, towers=towers, scale=scale)
    canvas = Image.new("RGB", (grid.shape[1], grid.shape[0] + HEADER_PX), "white")
    canvas.paste(Image.fromarray(grid), (0, HEADER_PX))
    ImageDraw.Draw(canvas).text((4, 3), label, fill=(0, 0, 0))
    return canvas


def conv1_movie(
    folder: str | os.PathLike,
    contrast: Contrast = "per-kernel",
    *,
    epochs: Sequence[int] | None = None,
    frame_ms: int = 350,
    hold_last_ms: int = 1500,
    scale: int = 3,
    progress: Callable[[float], None] | None = None,
) -> bytes:
    """GIF bytes: conv1 after each of ``epochs`` (default: every saved one), looping, the last frame held.

    GIF keeps 256 colours a frame (PIL's adaptive palette), so the movie is for watching the kernels form;
    the page's still pictures stay lossless PNG. ``progress`` gets the fraction of frames drawn.
    """
    epochs = list(saved_epochs(folder) if epochs is None else epochs)
    if not epochs:
        raise ValueError(f"{folder} holds no conv1 snapshots to animate")
    frames = []
    for i, epoch in enumerate(epochs):
        weight, towers = conv1_at(folder, epoch)
        label = f"conv1 after epoch {epoch}" + (" (initial weights)" if epoch == 0 else "")
        frames.append(_frame(weight, towers, contrast, label, scale).quantize(colors=256, dither=Image.Dither.NONE))
        if progress is not None:
            progress((i + 1) / len(epochs))
    durations = [frame_ms] * (len(frames) - 1) + [hold_last_ms]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=False)
    return out.getvalue()
