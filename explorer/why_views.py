"""The "Why this class?" page's work: one attribution map per method for a chosen class, drawn over the photo."""

from __future__ import annotations

import numpy as np
from torch import Tensor, nn

from explorer.attribution import Progress, gradcam, occlusion, overlay_png, saliency, window_starts
from explorer.channel_views import clip_range

__all__ = ["METHOD_LABELS", "OCCLUSION_PATCH", "OCCLUSION_STRIDES", "attribution_map", "attribution_png",
           "occlusion_windows"]

METHOD_LABELS = {"gradcam": "Grad-CAM", "saliency": "Saliency", "occlusion": "Occlusion"}
OCCLUSION_PATCH = 32
OCCLUSION_STRIDES = (32, 16, 8)  # 64, 196 and 676 windows (forward passes) at 227 pixels


def occlusion_windows(size: int, stride: int, patch: int = OCCLUSION_PATCH) -> int:
    """How many forward passes occlusion makes on a ``size`` x ``size`` input (what its time grows with)."""
    return len(window_starts(size, min(patch, size), stride)) ** 2


def attribution_map(
    model: nn.Module, x: Tensor, method: str, target: int, *, stride: int = 16, patch: int = OCCLUSION_PATCH,
    progress: Progress | None = None,
) -> np.ndarray:
    """The float32 (H, W) map of ``method`` ("gradcam", "saliency" or "occlusion") for class ``target``.

    Occlusion slides a ``patch``-pixel square of the training mean every ``stride`` pixels; ``progress(done,
    total)`` follows its batches.
    """
    if method == "gradcam":
        return gradcam(model, x, target)
    if method == "saliency":
        return saliency(model, x, target)
    if method == "occlusion":
        return occlusion(model, x, target, patch=patch, stride=stride, progress=progress)
    raise ValueError(f"unknown method {method!r}; known: {', '.join(METHOD_LABELS)}")


def attribution_png(view: np.ndarray, heat: np.ndarray, method: str, *, opacity: float, title: str) -> bytes:
    """PNG: ``heat`` over the (H, W, 3) crop with a colour bar; saliency is coloured up to its 99.5th percentile.

    Saliency maps are a few very bright pixels: stretched to their maximum, everything else is dark.
    """
    vmin, vmax = clip_range(heat) if method == "saliency" else (None, None)
    return overlay_png(view, heat, opacity=opacity, vmin=vmin, vmax=vmax, title=title)
