"""The fully connected layers fc6, fc7, fc8: their outputs for an image or a batch, and their pictures (no Streamlit).

The classifier runs on what the last feature layer (pool5) produced, so the dashboard gets fc6-fc8 from
the activations it already captured, without a second pass through the convolutional layers (the
classifier is ~55M multiply-adds against the conv layers' ~1G). Names follow the feature layers':
``relu6`` and ``relu7`` are fc6 and fc7 after their activation (``relu7`` is the paper's fc7 vector of
section 6.1, the one ``alexnet.neighbours`` compares), ``fc8`` the class scores before the softmax.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from explorer.activations import PaletteImage, feature_grid_indexed, model_lock

__all__ = ["UNIT_COLUMNS", "UnitStage", "classifier_outputs", "classifier_stages", "unit_picture", "unit_stats"]

UNIT_COLUMNS = 64  # 4,096 units as a 64x64 grid
UNIT_SCALE = 8  # each unit an 8x8 square: the grid is 512 pixels wide


@dataclass(frozen=True)
class UnitStage:
    """One fully connected layer as the Activations page lists it: ``name``, human ``label``, ``units``."""

    name: str
    label: str
    units: int
    is_scores: bool  # True for the last layer (class scores), drawn as bars instead of a grid


def _steps(model: nn.Module) -> list[tuple[str | None, nn.Module]]:
    """The classifier's modules, each with the name its output is kept under (None: not kept)."""
    classifier = getattr(model, "classifier", None)
    if not isinstance(classifier, nn.Sequential):
        return []
    modules = list(classifier.children())
    linears = [i for i, m in enumerate(modules) if isinstance(m, nn.Linear)]
    steps: list[tuple[str | None, nn.Module]] = []
    number = 5  # the paper numbers the fully connected layers 6, 7, 8
    for i, module in enumerate(modules):
        name = None
        if isinstance(module, nn.Linear):
            number += 1
            name = f"fc{number}" if i == linears[-1] else None
        elif isinstance(module, (nn.ReLU, nn.Tanh)) and number > 5:
            name = f"relu{number}"
        steps.append((name, module))
    return steps


def classifier_stages(model: nn.Module) -> list[UnitStage]:
    """fc6 + ReLU, fc7 + ReLU and fc8 (class scores) of the model, in order; [] without a classifier."""
    stages = []
    units = 0
    for name, module in _steps(model):
        if isinstance(module, nn.Linear):
            units = module.out_features
        if name is None:
            continue
        if name.startswith("fc"):
            stages.append(UnitStage(name, f"{name} (class scores, before softmax)", units, True))
        else:
            act = "ReLU" if isinstance(module, nn.ReLU) else "tanh"
            stages.append(UnitStage(name, f"{name} (fc{name[4:]} + {act})", units, False))
    return stages


@torch.no_grad()
def classifier_outputs(model: nn.Module, pooled: Tensor | np.ndarray) -> dict[str, Tensor]:
    """The classifier's layers on the last feature layer's output: {"relu6", "relu7", "fc8"}, each (N, units).

    ``pooled`` is (N, C, H, W) or one image's (C, H, W). The model is only read (eval mode expected:
    dropout must be off), under ``model_lock``. Returns {} when the model has no ``classifier`` or its
    first layer does not take this many inputs.
    """
    x = torch.as_tensor(np.asarray(pooled) if isinstance(pooled, np.ndarray) else pooled)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    steps = _steps(model)
    first = next((m for _, m in steps if isinstance(m, nn.Linear)), None)
    if first is None or x[0].numel() != first.in_features:
        return {}
    x = x.flatten(1)
    kept: dict[str, Tensor] = {}
    with model_lock(model):  # the model is shared: no other session's capture hooks may see this pass
        for name, module in steps:
            x = module(x)
            if name is not None:
                kept[name] = x.clone()  # the next in-place activation would overwrite it
    return kept


def unit_picture(values: np.ndarray, *, cols: int = UNIT_COLUMNS, scale: int = UNIT_SCALE) -> PaletteImage:
    """One layer's units as a grid of squares, row by row (unit 0 top left), one colour scale for all.

    Dark is the smallest value of the layer (0 after a ReLU), yellow the largest.
    """
    flat = np.asarray(values, dtype=np.float32).reshape(-1, 1, 1)
    return feature_grid_indexed(flat, normalise="shared", cols=cols, pad=0, scale=scale)


def unit_stats(values: np.ndarray, top: int = 20) -> dict[str, object]:
    """Mean, max, share of exact zeros, and the ``top`` strongest units (indices, values) of one layer."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    order = np.argsort(-v, kind="stable")[:top]
    return {
        "units": int(v.size),
        "mean": float(v.mean()),
        "max": float(v.max()),
        "zero_fraction": float((v == 0).mean()),
        "top_units": order,
        "top_values": v[order],
    }
