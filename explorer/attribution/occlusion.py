"""Occlusion (Zeiler & Fergus 2014, section 4.2): slide a patch over the image and record how far the class score drops.

Written as a small loop rather than Captum's ``Occlusion`` because the dashboard needs two things that
one lacks: a progress callback (and a way to stop between batches), and windows that reach the
image's last rows and columns (Captum starts windows at multiples of the stride only, so with
227 pixels, a 32-pixel patch and stride 16 the last 3 rows are never occluded). Where the
windows agree, this loop gives Captum's numbers (tests/explorer/attribution/test_occlusion.py).

The patch takes the value ``fill`` in the network's input: 0 is the training set's mean image (the
default, a "mean patch"); ``_common.grey_fill`` gives a plain grey one. Each pixel's value is the
mean drop over the windows that cover it; positive: hiding it lowers the score.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from explorer.activations import model_lock
from explorer.attribution._common import Progress, as_batch, resolve_target

__all__ = ["occlusion", "window_starts"]

Score = Literal["probability", "logit"]


def window_starts(length: int, patch: int, stride: int) -> list[int]:
    """Window starts 0, stride, 2*stride ... plus a last one flush with the far edge, so every pixel is covered."""
    if patch < 1 or stride < 1:
        raise ValueError(f"patch and stride must be at least 1, got {patch} and {stride}")
    patch = min(patch, length)
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return starts


def _scores(model: nn.Module, batch: Tensor, target: int, score: Score) -> Tensor:
    with model_lock(model):
        logits = model(batch)
    return logits.softmax(dim=1)[:, target] if score == "probability" else logits[:, target]


@torch.no_grad()
def occlusion(
    model: nn.Module,
    x: Tensor,
    target: int | None = None,
    *,
    patch: int = 32,
    stride: int = 16,
    fill: float | Tensor = 0.0,
    score: Score = "probability",
    batch_size: int = 32,
    progress: Progress | None = None,
) -> np.ndarray:
    """Drop of ``target``'s score (default: the predicted class) when each pixel is hidden: float32 (H, W).

    ``patch`` x ``patch`` windows every ``stride`` pixels (plus one flush with each far edge); ``fill`` is
    the hidden pixels' value in the network's input (a number, or a (3, H, W) tensor such as
    ``grey_fill``); ``score`` is the softmax probability (Zeiler & Fergus) or the logit. Occluded
    copies go through the model ``batch_size`` at a time; ``progress(done, total)`` follows each batch
    (raise from it to stop). Cost: one forward pass per window, e.g. 196 at 227 pixels, 32/16.
    """
    if score not in ("probability", "logit"):
        raise ValueError(f"score must be 'probability' or 'logit', got {score!r}")
    x = as_batch(model, x)
    target = resolve_target(model, x, target)
    _, _, h, w = x.shape
    fill_t = torch.as_tensor(fill, dtype=x.dtype)
    try:
        fill_t = fill_t.expand_as(x[0])  # a number, a colour (3, 1, 1) or a whole picture (3, H, W)
    except RuntimeError:
        raise ValueError(f"fill shaped {tuple(fill_t.shape)} does not fit an image {tuple(x.shape[1:])}") from None
    ph, pw = min(patch, h), min(patch, w)
    windows = [(top, left) for top in window_starts(h, ph, stride) for left in window_starts(w, pw, stride)]
    base = float(_scores(model, x, target, score)[0])
    total = torch.zeros(h, w, dtype=torch.float64)
    count = torch.zeros(h, w, dtype=torch.float64)
    for start in range(0, len(windows), batch_size):
        chunk = windows[start:start + batch_size]
        batch = x.repeat(len(chunk), 1, 1, 1)
        for i, (top, left) in enumerate(chunk):
            batch[i, :, top:top + ph, left:left + pw] = fill_t[:, top:top + ph, left:left + pw]
        drops = base - _scores(model, batch, target, score).double()
        for drop, (top, left) in zip(drops.tolist(), chunk, strict=True):
            total[top:top + ph, left:left + pw] += drop
            count[top:top + ph, left:left + pw] += 1
        if progress is not None:
            progress(start + len(chunk), len(windows))
    return (total / count).float().numpy()
