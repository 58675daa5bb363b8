"""Saliency maps (Simonyan, Vedaldi, Zisserman 2014) through Captum's Saliency.

The gradient of the class score with respect to each input pixel, its absolute value, and the
largest of the three colour channels: which pixels would change the score most if nudged. Chosen
over guided backpropagation because it needs no change to the ReLUs' backward pass: the paper's
ReLUs run in place, and Captum's guided-backprop hooks on in-place modules are fragile.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor, nn

from explorer.activations import model_lock
from explorer.attribution._common import as_batch, resolve_target

__all__ = ["saliency"]


def saliency(model: nn.Module, x: Tensor, target: int | None = None) -> np.ndarray:
    """|d score / d pixel|, the maximum over colour channels: float32 (H, W), for ``target`` or the predicted class."""
    x = as_batch(model, x).requires_grad_(True)  # a fresh copy: Captum would otherwise warn and set it
    target = resolve_target(model, x, target)
    from captum.attr import Saliency  # here: importing captum.attr takes ~1 s (it loads pyplot)

    with model_lock(model):  # no hooks of ours, but another session's capture must not see this pass
        grads = Saliency(model).attribute(x, target=target, abs=True)
    return grads[0].amax(dim=0).detach().float().numpy()
