"""Receptive fields of the feature layers: size, jump (stride in input pixels), offset, and the input box of one unit.

Computed from the model's own layer geometry (each conv and pooling module's kernel_size, stride,
padding, dilation), walking ``model.features`` in order, with the usual recurrences (Araujo et al.,
"Computing Receptive Fields of Convolutional Neural Networks", Distill 2019):

    size_out   = size_in + (k - 1) * jump_in        (k: the dilated kernel, d * (k - 1) + 1)
    jump_out   = jump_in * stride
    offset_out = offset_in - padding * jump_in      (input pixel under the top-left of unit 0's field)

Activations, LRN and other shape-preserving layers leave the field as it is. For the paper's network
at 227x227: conv1 11 (jump 4), pool1 19 (8), conv2 51, pool2 67 (16), conv3 99, conv4 131, conv5 163
(16), pool5 195 (32). A field may hang over the border (padding); ``input_box`` clips it. Where a
layer's floor rounding drops the input's last rows (not so for AlexNet at 227, where every layer
divides exactly), the last unit's true field is a few pixels shorter than the box.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from alexnet.model import INPUT_SIZE
from explorer.activations import feature_stages

__all__ = ["Box", "ReceptiveField", "input_box", "paper_fields", "receptive_fields"]


class Box(NamedTuple):
    """Rows ``top:bottom`` and columns ``left:right`` of the input (half-open, like slices)."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


@dataclass(frozen=True)
class ReceptiveField:
    """One layer's field: ``size`` pixels square, ``jump`` pixels between neighbouring units, unit (0, 0)'s
    field starting at input pixel (``offset``, ``offset``) (negative: it starts in the padding), and the
    layer's ``side`` (output rows = columns) for an input of ``input_size``."""

    layer: str
    size: int
    jump: int
    offset: int
    side: int
    input_size: int

    def box(self, y: int, x: int, *, clip: bool = True) -> Box:
        """The input pixels unit (``y``, ``x``) sees; clipped to the image unless ``clip`` is False."""
        if not (0 <= y < self.side and 0 <= x < self.side):
            raise IndexError(f"unit ({y}, {x}) is outside {self.layer}'s {self.side}x{self.side} map")
        top, left = self.offset + y * self.jump, self.offset + x * self.jump
        box = Box(top, left, top + self.size, left + self.size)
        if not clip:
            return box
        n = self.input_size
        return Box(max(box.top, 0), max(box.left, 0), min(box.bottom, n), min(box.right, n))

    def unit_at(self, y: float, x: float) -> tuple[int, int]:
        """The unit whose field is centred nearest input pixel (``y``, ``x``): the inverse of ``box`` for a click.

        Fields overlap (conv1: 11 pixels, 4 apart), so several units see a pixel; the nearest centre is the
        one a feature map drawn over the photo shows there. Pixels beyond the outer centres give the edge units.
        """
        centre = self.offset + (self.size - 1) / 2

        def nearest(pixel: float) -> int:
            return min(max(round((pixel - centre) / self.jump), 0), self.side - 1)

        return nearest(y), nearest(x)


def _square(value: int | tuple[int, ...], what: str, module: nn.Module) -> int:
    """A module's int-or-pair setting as one int; non-square geometry is refused (AlexNet has none)."""
    if isinstance(value, int):
        return value
    values = set(value)
    if len(values) != 1:
        raise ValueError(f"{type(module).__name__} has a non-square {what} {tuple(value)}; only square layers work")
    return int(values.pop())


def receptive_fields(model: nn.Module, input_size: int = INPUT_SIZE) -> dict[str, ReceptiveField]:
    """Every feature layer's field, by canonical name (``conv1``, ``relu1``, ``lrn1``, ``pool1`` ... ``pool5``)."""
    names = {id(stage.module): stage.name for stage in feature_stages(model)}
    size, jump, offset, side = 1, 1, 0, input_size
    fields: dict[str, ReceptiveField] = {}
    for module in model.features.children():
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = _square(module.kernel_size, "kernel", module)
            s = _square(module.stride, "stride", module)
            p = _square(module.padding, "padding", module)
            d = _square(getattr(module, "dilation", 1), "dilation", module)
            k = d * (k - 1) + 1
            rounding = math.ceil if getattr(module, "ceil_mode", False) else math.floor
            side = int(rounding((side + 2 * p - k) / s)) + 1
            size, offset, jump = size + (k - 1) * jump, offset - p * jump, jump * s
        elif isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Upsample, nn.Flatten)):
            raise ValueError(f"cannot follow the geometry of {type(module).__name__} in the features")
        # Anything else (activations, LRN, dropout) acts per position: the field is unchanged.
        if id(module) in names:
            name = names[id(module)]
            fields[name] = ReceptiveField(name, size, jump, offset, side, input_size)
    return fields


@functools.lru_cache(maxsize=4)
def paper_fields(input_size: int = INPUT_SIZE) -> dict[str, ReceptiveField]:
    """The fields of the paper's network (one or two towers alike), built on the meta device: no weights."""
    from alexnet.model import AlexNet

    with torch.device("meta"):
        model = AlexNet(num_classes=1, init=False)
    return receptive_fields(model, input_size)


def input_box(
    layer: str | ReceptiveField, y: int, x: int, *, model: nn.Module | None = None, input_size: int = INPUT_SIZE,
    clip: bool = True,
) -> Box:
    """The box of the ``input_size`` input that unit (``y``, ``x``) of ``layer`` sees (clipped to the image).

    ``layer`` is a canonical name (the paper's network, or ``model``'s when given) or a field.
    """
    if isinstance(layer, ReceptiveField):
        return layer.box(y, x, clip=clip)
    fields = paper_fields(input_size) if model is None else receptive_fields(model, input_size)
    if layer not in fields:
        raise KeyError(f"unknown layer {layer!r}; known: {', '.join(fields)}")
    return fields[layer].box(y, x, clip=clip)
