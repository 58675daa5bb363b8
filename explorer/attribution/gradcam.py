"""Grad-CAM (Selvaraju et al. 2017) at the last conv layer, through Captum's LayerGradCam.

The gradient of the class score with respect to each channel of the layer, averaged over positions,
weighs that channel's activations; their sum, rectified (only what speaks *for* the class), is the
map. For AlexNet the layer is conv5 after its ReLU (``relu5``, the rectified maps the paper's method
uses): 13x13 cells, each a 163x163 field 16 pixels apart, placed on the 227x227 input at their
fields' centres (``_common.upsample``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from explorer.activations import model_lock
from explorer.attribution._common import (
    as_batch,
    default_layer,
    field_of,
    layer_module,
    resolve_target,
    upsample,
)

__all__ = ["gradcam", "gradcam_cells"]


def gradcam_cells(model: nn.Module, x: Tensor, target: int | None = None, *, layer: str | None = None) -> np.ndarray:
    """The Grad-CAM map at the layer's own resolution (13x13 for AlexNet's conv5), float32."""
    x = as_batch(model, x)
    target = resolve_target(model, x, target)
    module = layer_module(model, layer or default_layer(model))
    from captum.attr import LayerGradCam  # here: importing captum.attr takes ~1 s (it loads pyplot)

    with model_lock(model):  # Captum's hooks live on the shared model for this call
        cam = LayerGradCam(model, module).attribute(x, target=target, relu_attributions=True)
    return cam[0, 0].detach().float().numpy()


def gradcam(model: nn.Module, x: Tensor, target: int | None = None, *, layer: str | None = None) -> np.ndarray:
    """Grad-CAM of class ``target`` (default: the predicted class) as a float32 (H, W) map of the input."""
    x = as_batch(model, x)
    layer = layer or default_layer(model)
    cells = gradcam_cells(model, x, target, layer=layer)
    size = (x.shape[-2], x.shape[-1])
    return upsample(torch.from_numpy(cells), size, field_of(model, layer, size[0])).astype(np.float32)
