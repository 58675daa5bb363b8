"""Weight compression for shipping a model: fp16, int8 with one scale per output row, 4- and 2-bit in groups.

The fully connected layers hold 58 of the reference AlexNet's 61 million parameters, so they decide
what the bundled model costs on disk: 233 MB in fp32, 117 MB in fp16, 55 MB in int8, 29 MB in 4-bit,
15 MB in 2-bit.
Each scheme turns one weight tensor into a few plain tensors (safetensors stores tensors only, no
pickle), named after the weight:

    fp16   ``NAME``                                 the tensor in float16
    int8   ``NAME.int8``, ``NAME.scale``            q = round(w / s) in [-127, 127], s = max|row| / 127
    int4   ``NAME.int4``, ``NAME.scale``            groups of ``INT4_GROUP`` inputs per row, q in [-7, 7],
                                                    two values a byte (low nibble first), s = max|group| / 7
    int2   ``NAME.int2``, ``NAME.scale``            groups of ``INT4_GROUP`` inputs, code c in 0..3 stands for
                                                    (2c - 3) s, s = rms(group) / 2: levels +-0.5 and +-1.5
                                                    rms, close to the best 4 levels for a Gaussian (Lloyd-Max:
                                                    +-0.45, +-1.51); four values a byte, lowest bits first

Symmetric scales keep zero exact in int8 and int4 (ReLU networks have many zero-centred weights) and need
no offsets; int2 has no zero level (four levels cannot hold zero and stay symmetric) and scales by the
group's rms, not its maximum, so that one outlier does not push every other weight to the inner levels.
One scale per output row (int8) or per 64 inputs (int4) follows the usual practice for linear layers
(LLM.int8, GPTQ-style group quantisation): rows of fc6 differ in scale by 10x, groups catch outliers.
"""

from __future__ import annotations

import torch
from torch import Tensor

SCHEMES: tuple[str, ...] = ("fp32", "fp16", "int8", "int4", "int2")
INT4_GROUP = 64  # inputs sharing one scale; 9216 and 4096 (fc6, fc7, fc8 inputs) are multiples of it


def compress(name: str, weight: Tensor, scheme: str) -> dict[str, Tensor]:
    """The tensors that store ``weight`` under ``scheme`` (see the module docstring for their names)."""
    weight = weight.detach().float().cpu()
    if scheme == "fp32":
        return {name: weight.contiguous()}
    if scheme == "fp16":
        return {name: weight.half().contiguous()}
    if weight.dim() != 2:
        raise ValueError(f"{scheme} compresses 2-D (linear) weights only; {name} has shape {tuple(weight.shape)}")
    if scheme == "int8":
        scale = weight.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / 127
        q = torch.round(weight / scale).clamp(-127, 127).to(torch.int8)
        return {f"{name}.int8": q, f"{name}.scale": scale.squeeze(1).contiguous()}
    if scheme in ("int4", "int2"):
        rows, cols = weight.shape
        if cols % INT4_GROUP:
            raise ValueError(f"{scheme} needs a multiple of {INT4_GROUP} inputs; {name} has {cols}")
        groups = weight.reshape(rows, cols // INT4_GROUP, INT4_GROUP)
    if scheme == "int2":
        scale = groups.pow(2).mean(dim=2, keepdim=True).sqrt().clamp_min(1e-12) / 2
        scale = scale.half().float()  # stored in fp16: choose the codes with the scale that will be read back
        code = torch.round((groups / scale + 3) / 2).clamp(0, 3).to(torch.uint8).reshape(rows, cols)
        packed = code[:, 0::4] | (code[:, 1::4] << 2) | (code[:, 2::4] << 4) | (code[:, 3::4] << 6)
        return {f"{name}.int2": packed.contiguous(), f"{name}.scale": scale.squeeze(2).half().contiguous()}
    if scheme == "int4":
        scale = groups.abs().amax(dim=2, keepdim=True).clamp_min(1e-12) / 7
        q = (torch.round(groups / scale).clamp(-7, 7) + 8).to(torch.uint8).reshape(rows, cols)
        packed = q[:, 0::2] | (q[:, 1::2] << 4)
        return {f"{name}.int4": packed.contiguous(), f"{name}.scale": scale.squeeze(2).half().contiguous()}
    raise ValueError(f"unknown compression scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")


def decompress(entries: dict[str, Tensor], name: str) -> Tensor:
    """The float32 weight ``name`` rebuilt from ``entries`` (whatever scheme stored it)."""
    if name in entries:
        return entries[name].float()
    if f"{name}.int8" in entries:
        return entries[f"{name}.int8"].float() * entries[f"{name}.scale"].float().unsqueeze(1)
    if f"{name}.int4" in entries:
        packed = entries[f"{name}.int4"]
        rows = packed.shape[0]
        q = torch.stack([packed & 0x0F, packed >> 4], dim=2).reshape(rows, -1).float() - 8
        scale = entries[f"{name}.scale"].float()
        return (q.reshape(rows, scale.shape[1], -1) * scale.unsqueeze(2)).reshape(rows, -1)
    if f"{name}.int2" in entries:
        packed = entries[f"{name}.int2"]
        rows = packed.shape[0]
        code = torch.stack([(packed >> shift) & 0x03 for shift in (0, 2, 4, 6)], dim=2).reshape(rows, -1).float()
        scale = entries[f"{name}.scale"].float()
        return ((2 * code - 3).reshape(rows, scale.shape[1], -1) * scale.unsqueeze(2)).reshape(rows, -1)
    raise KeyError(f"{name} is not stored (no {name}, {name}.int8, {name}.int4 or {name}.int2 entry)")


def stored_names(entries: dict[str, Tensor]) -> list[str]:
    """The weight names that ``entries`` stores, in order (``NAME.scale`` etc. folded into ``NAME``)."""
    names: dict[str, None] = {}
    for key in entries:
        base = key.rsplit(".", 1)[0] if key.endswith((".int8", ".int4", ".int2", ".scale")) else key
        names[base] = None
    return list(names)


def compress_state_dict(state: dict[str, Tensor], scheme_for) -> dict[str, Tensor]:
    """Every tensor of ``state`` compressed with ``scheme_for(name, tensor)``'s scheme."""
    out: dict[str, Tensor] = {}
    for name, tensor in state.items():
        out.update(compress(name, tensor, scheme_for(name, tensor)))
    return out


def decompress_state_dict(entries: dict[str, Tensor]) -> dict[str, Tensor]:
    """The float32 state dict that ``entries`` stores."""
    return {name: decompress(entries, name) for name in stored_names(entries)}


def stored_bytes(entries: dict[str, Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in entries.values())


__all__ = [
    "INT4_GROUP",
    "SCHEMES",
    "compress",
    "compress_state_dict",
    "decompress",
    "decompress_state_dict",
    "stored_bytes",
    "stored_names",
]
