"""A per-layer table computed from the model itself: output shape, parameters, multiply-adds.

Nothing here is typed in: shapes come from one forward pass on a zero input
with hooks on every leaf module, parameters from the modules, and
multiply-adds from each convolution's and linear layer's shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerRow:
    name: str  # qualified, e.g. "features.conv1"
    kind: str  # module class name
    output_shape: tuple[int, ...]  # without the batch dimension
    params: int
    mult_adds: int  # per image; conv and linear layers only


def _mult_adds(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = (module.in_channels // module.groups) * kh * kw
        return output[0].numel() * per_output
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return 0


@torch.no_grad()
def layer_summary(model: nn.Module, input_shape: tuple[int, ...] = (3, 227, 227)) -> list[LayerRow]:
    """One row per leaf module, in execution order, for a single image of ``input_shape``."""
    rows: list[LayerRow] = []
    handles = []

    def record(name: str):
        def hook(module: nn.Module, _inputs, output: torch.Tensor) -> None:
            rows.append(LayerRow(
                name=name,
                kind=type(module).__name__,
                output_shape=tuple(output.shape[1:]),
                params=sum(p.numel() for p in module.parameters(recurse=False)),
                mult_adds=_mult_adds(module, output),
            ))
        return hook

    was_training = model.training
    try:
        for name, module in model.named_modules():
            if name and not list(module.children()):
                handles.append(module.register_forward_hook(record(name)))
        model.eval()
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        model(torch.zeros(1, *input_shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return rows


def format_summary(rows: list[LayerRow]) -> str:
    """A plain-text table with totals, for the CLI."""
    header = f"{'layer':<22}{'type':<20}{'output':>16}{'params':>14}{'mult-adds':>16}"
    lines = [header, "-" * len(header)]
    for r in rows:
        shape = "x".join(str(d) for d in r.output_shape)
        lines.append(f"{r.name:<22}{r.kind:<20}{shape:>16}{r.params:>14,}{r.mult_adds:>16,}")
    lines.append("-" * len(header))
    total_params = sum(r.params for r in rows)
    total_macs = sum(r.mult_adds for r in rows)
    lines.append(f"{'total':<58}{total_params:>14,}{total_macs:>16,}")
    return "\n".join(lines)
