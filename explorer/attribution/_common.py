"""What the attribution methods share: input checks, the class to explain, the layer, maps aligned with the input.

Every method takes the network's float input (the mean-subtracted crop, (3, H, W) or (1, 3, H, W))
and returns a float32 (H, W) numpy heat map on the same pixel grid. The model is the dashboard's
shared one: it must be in eval mode, is never changed, and every pass that may meet hooks runs under
``explorer.activations.model_lock`` (a capture in another session would otherwise record our passes,
and ours theirs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explorer.activations import feature_stages, model_lock
from explorer.receptive_field import ReceptiveField, receptive_fields

__all__ = ["Progress", "class_index", "default_layer", "grey_fill", "predicted_class"]

# Called as progress(done, total) after each unit of work (a batch of occluded images, an optimiser step).
Progress = Callable[[int, int], None]


def as_batch(model: nn.Module, x: Tensor) -> Tensor:
    """``x`` as a fresh (1, 3, H, W) float tensor (the caller's is never marked as needing gradients)."""
    if model.training:
        raise ValueError("attribution needs a model in eval mode (call model.eval() first)")
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one image shaped (3, H, W) or (1, 3, H, W), got {tuple(x.shape)}")
    return x.detach().float().clone()


@torch.no_grad()
def predicted_class(model: nn.Module, x: Tensor) -> int:
    """The class the model scores highest for the image ``x``."""
    with model_lock(model):
        return int(model(as_batch(model, x)).argmax(dim=1))


def resolve_target(model: nn.Module, x: Tensor, target: int | None) -> int:
    if target is None:
        return predicted_class(model, x)
    return int(target)


def class_index(name: str | int, classes: Sequence[str], class_names: Sequence[str] | None = None) -> int:
    """The output index of a class given by readable name, folder name (wnid) or index; case is ignored.

    ``KeyError`` with a one-line message listing the known classes otherwise.
    """
    names = list(class_names or classes)
    text = str(name).strip()
    if text.isdigit() and int(text) < len(classes):
        return int(text)
    for candidates in (names, classes):
        lowered = [c.lower() for c in candidates]
        if text.lower() in lowered:
            return lowered.index(text.lower())
    raise KeyError(f"unknown class {text!r}; the model knows: {', '.join(names)}")


def default_layer(model: nn.Module) -> str:
    """The layer Grad-CAM reads: the last conv's rectified output (``relu5`` in AlexNet), else the last conv."""
    stages = feature_stages(model)
    convs = [s for s in stages if s.kind == "conv"]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no conv layer")
    last = convs[-1].name
    after = [s for s in stages if s.conv == last and s.kind == "activation"]
    return after[0].name if after else last


def layer_module(model: nn.Module, name: str) -> nn.Module:
    stages = {s.name: s.module for s in feature_stages(model)}
    if name not in stages:
        raise KeyError(f"unknown layer {name!r}; known: {', '.join(stages)}")
    return stages[name]


def grey_fill(mean_image: Tensor, crop: int = 227, grey: float = 128.0) -> Tensor:
    """The network input of a plain grey picture: ``grey`` minus the centre crop of the training mean image."""
    top = int(round((mean_image.shape[-2] - crop) / 2.0))  # torchvision's center_crop offset
    left = int(round((mean_image.shape[-1] - crop) / 2.0))
    return grey - mean_image[..., top:top + crop, left:left + crop].float()


def field_of(model: nn.Module, layer: str, size: int) -> ReceptiveField | None:
    try:
        return receptive_fields(model, size).get(layer)
    except ValueError:  # geometry we cannot follow: plain interpolation instead
        return None


def upsample(layer_map: Tensor, size: tuple[int, int], field: ReceptiveField | None) -> np.ndarray:
    """A (h, w) map of a layer as (H, W) input pixels, each unit's value placed at its field's centre.

    Plain resizing would spread 13 conv5 cells evenly over 227 pixels (cell centres 8..218) while the
    units' fields are centred at 17 + 16y (17..209): up to 9 pixels off. Between centres the values
    are interpolated bilinearly; beyond the outermost centres the border unit's value is kept.
    """
    m = layer_map.detach().float().reshape(1, 1, *layer_map.shape[-2:])
    h, w = m.shape[-2:]
    if field is None or h != w or size[0] != size[1] or field.side != h:
        return F.interpolate(m, size, mode="bilinear", align_corners=False)[0, 0].numpy()
    centre0 = field.offset + (field.size - 1) / 2.0
    units = (torch.arange(size[0], dtype=torch.float32) - centre0) / field.jump
    g = units / max(h - 1, 1) * 2 - 1 if h > 1 else torch.zeros_like(units)
    grid = torch.stack(torch.meshgrid(g, g, indexing="xy"), dim=-1).unsqueeze(0)  # (1, H, W, [x, y])
    out = F.grid_sample(m, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, 0].numpy()
