"""What every layer of a model computes for one image (no Streamlit).

``capture_activations`` runs one forward pass with forward hooks on the feature layers and returns
detached copies of their outputs; its ``replace`` swaps a layer's output for that pass only (the LRN
analysis runs the network with other LRN settings this way). Hooks rather than
``torchvision.models.feature_extraction``: the model is shared by every session of the dashboard and
must stay untouched, and hooks leave it exactly as it was (they are removed in ``finally``). Measured
on this project's 2-vCPU machine (paper two-tower model, one 227x227 image, best of 5): plain forward
1.13 s, forward with hooks on all 15 feature layers plus the copies 1.30 s; ``create_feature_extractor``
cannot even build the extractor here: FX tracing stops at the LRN layer's data-dependent control
flow (TraceError).

Copies matter, but only where something would overwrite a captured tensor: the paper's ReLUs run in
place (``nn.ReLU(inplace=True)``), so the tensor a conv layer returns is overwritten by the next
layer. The hooks keep outputs as they are and a forward pre-hook on every in-place module (any
module with ``inplace=True``) clones a captured tensor just before that module would write into
it. ReLU, LRN and pooling outputs are never written to again, so they are not copied: cloning every
output cost +12-17% over a plain forward pass (490 MB of fresh memory per batch of 64); cloning only
the conv outputs ~+5% (BENCHMARKS.md, row 2). In-place work done by functional code inside a
model's ``forward`` (``x.relu_()``) is not visible to hooks; this project's AlexNet and
torchvision's use modules only (tests/explorer/test_activations.py checks both).

Layers get canonical names whatever the model (the paper's ``AlexNet`` or torchvision's, whose
``features`` are numbered): ``conv1``, ``relu1``, ``lrn1``, ``pool1`` ... ``pool5``, plus
``logits`` for the model's output.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from alexnet.lrn import LocalResponseNorm
from explorer import colormaps
from explorer.grids import tile

__all__ = [
    "LOGITS",
    "PaletteImage",
    "Stage",
    "capture_activations",
    "channel_stats",
    "conv_layers",
    "feature_grid",
    "feature_grid_indexed",
    "feature_stages",
    "model_lock",
    "top_k",
]

LOGITS = "logits"
Normalise = Literal["per-channel", "clipped", "shared"]
CLIP_PERCENTILE = 99.5  # "clipped" contrast: each map's top colour is reached at this percentile
StageKind = Literal["conv", "activation", "lrn", "pool"]


@dataclass(frozen=True)
class Stage:
    """One feature layer: canonical ``name``, a ``label`` (the name, then what it is: "relu1 (conv1 + ReLU)"),
    its ``kind`` and the ``conv`` that feeds it."""

    name: str
    label: str
    kind: StageKind
    conv: str
    module: nn.Module


def _features(model: nn.Module) -> nn.Module:
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Sequential):
        raise ValueError(f"{type(model).__name__} has no nn.Sequential 'features' to look inside")
    return features


def feature_stages(model: nn.Module) -> list[Stage]:
    """The model's feature layers in execution order, named conv1, relu1, lrn1, pool1, ... pool5.

    Identity layers (the paper network with LRN switched off) are skipped. Works for
    ``alexnet.model.AlexNet`` and for torchvision's AlexNet (numbered ``features``).
    """
    stages: list[Stage] = []
    conv_index = 0
    for module in _features(model).children():
        if isinstance(module, nn.Conv2d):
            conv_index += 1
            name = f"conv{conv_index}"
            stages.append(Stage(name, f"{name} (before activation)", "conv", name, module))
            continue
        if conv_index == 0 or isinstance(module, nn.Identity):
            continue
        conv = f"conv{conv_index}"
        if isinstance(module, (nn.ReLU, nn.Tanh)):
            act = "ReLU" if isinstance(module, nn.ReLU) else "tanh"
            stages.append(Stage(f"relu{conv_index}", f"relu{conv_index} ({conv} + {act})", "activation", conv, module))
        elif isinstance(module, (LocalResponseNorm, nn.LocalResponseNorm)):
            stages.append(Stage(f"lrn{conv_index}", f"lrn{conv_index} ({conv} after LRN)", "lrn", conv, module))
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            stages.append(Stage(f"pool{conv_index}", f"pool{conv_index} ({conv} after pooling)", "pool", conv, module))
    return stages


def conv_layers(model: nn.Module) -> dict[str, nn.Conv2d]:
    """conv1..convN of the model's features, by canonical name."""
    return {s.name: s.module for s in feature_stages(model) if s.kind == "conv"}  # type: ignore[misc]


# One lock per model: hooks live on the shared model while a capture runs, so two sessions
# capturing at once would each record the other's forward pass. The lock serialises captures on
# the same model; different models run in parallel.
_locks: weakref.WeakKeyDictionary[nn.Module, threading.Lock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def model_lock(model: nn.Module) -> threading.Lock:
    """The lock that serialises hook-based work on ``model`` (hold it while hooks are attached)."""
    with _locks_guard:
        lock = _locks.get(model)
        if lock is None:
            lock = _locks[model] = threading.Lock()
        return lock


def _storage(tensor: Tensor) -> int:
    """Address of the tensor's storage: equal for views of one storage (writing into one changes the other)."""
    return tensor.untyped_storage().data_ptr()


@torch.no_grad()
def capture_activations(
    model: nn.Module,
    x: Tensor,
    layers: Iterable[str] | None = None,
    *,
    replace: Mapping[str, Callable[[Tensor], Tensor] | None] | None = None,
) -> dict[str, Tensor]:
    """Outputs of the named feature layers (default: all, plus ``"logits"``) for input ``x``.

    Returns detached tensors, in execution order, holding the values each layer produced. Each owns
    its memory: none shares storage with ``x``, with another returned tensor or with anything the
    model keeps, so changing one changes nothing else. The model must be in eval mode (dropout would
    make the result random) and is left exactly as it was: no hooks remain, even if the forward pass
    fails.

    ``replace`` changes what the network continues with after a feature layer, for this pass only:
    ``{name: fn}`` continues with ``fn(output)`` (``fn`` must not write into its argument, which may
    be a captured tensor); ``{name: None}`` leaves the layer out, continuing with the layer's input
    (refused for an in-place layer, whose input is already overwritten when hooks see it). A replaced
    layer is still captured as the layer itself computed it, before the replacement.
    """
    if model.training:
        raise ValueError("capture_activations needs a model in eval mode (call model.eval() first)")
    stages = feature_stages(model)
    replace = dict(replace or {})
    wanted = [s.name for s in stages] + [LOGITS] if layers is None else list(layers)
    known = {s.name for s in stages}
    unknown = [name for name in wanted if name not in known | {LOGITS}]
    unknown += [name for name in replace if name not in known]
    if unknown:
        raise KeyError(f"unknown layers {unknown}; known: {', '.join(s.name for s in stages)}, {LOGITS}")
    for stage in stages:
        if stage.name in replace and replace[stage.name] is None and getattr(stage.module, "inplace", False):
            raise ValueError(f"{stage.name} works in place: its input is gone, so it cannot be left out")
    captured: dict[str, Tensor] = {}
    storage_of: dict[str, int] = {}  # name -> _storage(captured[name]), computed once per tensor

    def hook_for(name: str):
        keep, swap, fn = name in wanted, name in replace, replace.get(name)

        def hook(_module: nn.Module, inputs: tuple, output: Tensor) -> Tensor | None:
            if keep:
                captured[name] = output.detach()
                storage_of[name] = _storage(output)
            if not swap:
                return None
            # A forward hook's return value takes the place of the module's output for the rest of the pass.
            return inputs[0] if fn is None else fn(output)

        return hook

    def copy_before_overwrite(_module: nn.Module, inputs: tuple) -> None:
        # This module is about to write into its input: save any captured tensor living there.
        if not inputs or not isinstance(inputs[0], Tensor):
            return
        target = _storage(inputs[0])
        for name, storage in storage_of.items():
            if storage == target:
                captured[name] = captured[name].clone()
                storage_of[name] = _storage(captured[name])

    # Every hook of the pass is registered here and removed in ``finally``, under the model's lock.
    with model_lock(model):
        handles = []
        try:
            for stage in stages:
                if stage.name in wanted or stage.name in replace:
                    handles.append(stage.module.register_forward_hook(hook_for(stage.name)))
            for module in model.modules():
                if getattr(module, "inplace", False) is True:
                    handles.append(module.register_forward_pre_hook(copy_before_overwrite))
            logits = model(x)
        finally:
            for handle in handles:
                handle.remove()
    if LOGITS in wanted:
        captured[LOGITS] = logits.detach()
    # Outputs that are views of the input, of a parameter, or of each other (a layer that passes its
    # input through) are copied, so every returned tensor owns its memory. Normally none is.
    owned = {_storage(t) for t in (x, *model.parameters(), *model.buffers())}
    order = {name: i for i, name in enumerate(wanted)}
    result: dict[str, Tensor] = {}
    for name, tensor in sorted(captured.items(), key=lambda item: order[item[0]]):
        if _storage(tensor) in owned:
            tensor = tensor.clone()
        owned.add(_storage(tensor))
        result[name] = tensor
    return result


def _as_chw(act: Tensor | np.ndarray) -> np.ndarray:
    array = act.detach().cpu().numpy() if isinstance(act, Tensor) else np.asarray(act)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {array.shape[0]}")
        array = array[0]
    if array.ndim != 3:
        raise ValueError(f"expected activations shaped (C, H, W) or (1, C, H, W), got {array.shape}")
    return array


def channel_stats(act: Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel mean, max, min and share of exact zeros (what ReLU switched off) of (C, H, W)."""
    a = _as_chw(act).astype(np.float64, copy=False)
    flat = a.reshape(a.shape[0], -1)
    return {
        "channel": np.arange(a.shape[0]),
        "mean": flat.mean(axis=1),
        "max": flat.max(axis=1),
        "min": flat.min(axis=1),
        "zero_fraction": (flat == 0).mean(axis=1),
    }


@dataclass(frozen=True)
class PaletteImage:
    """An image as palette indices (H, W) and the palette (K, 3) uint8: ``palette[indices]`` is the RGB.

    What ``feature_grid_indexed`` returns: a third of the bytes of the RGB image, and with K <= 256 it
    is written losslessly as an 8-bit palette PNG (``explorer.figures.png_bytes``), several times faster
    than encoding the RGB image.
    """

    indices: np.ndarray
    palette: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return (*self.indices.shape, 3)

    def rgb(self) -> np.ndarray:
        """The uint8 (H, W, 3) image."""
        return self.palette[self.indices]


def _levels(act: Tensor | np.ndarray, normalise: Normalise, channels: Sequence[int] | None) -> np.ndarray:
    """uint8 (C, H, W) levels 0..255 of the chosen channels, ranged per channel or over the whole layer."""
    a = _as_chw(act).astype(np.float32, copy=False)
    if channels is not None:
        a = a[list(channels)]
    if normalise == "per-channel":
        lo = a.min(axis=(1, 2), keepdims=True)
        hi = a.max(axis=(1, 2), keepdims=True)
    elif normalise == "clipped":
        # Per channel, the top at a high percentile: a sparse map's few strong positions no longer
        # leave the rest black. Where the percentile is not above the minimum, the maximum instead.
        lo = a.min(axis=(1, 2), keepdims=True)
        hi = np.percentile(a, CLIP_PERCENTILE, axis=(1, 2), keepdims=True).astype(np.float32)
        hi = np.where(hi > lo, hi, a.max(axis=(1, 2), keepdims=True))
    elif normalise == "shared":
        lo = np.full((1, 1, 1), a.min(), dtype=np.float32)
        hi = np.full((1, 1, 1), a.max(), dtype=np.float32)
    else:
        raise ValueError(f"normalise must be 'per-channel', 'clipped' or 'shared', got {normalise!r}")
    return colormaps.levels(a, lo, hi)


def feature_grid_indexed(
    act: Tensor | np.ndarray,
    *,
    normalise: Normalise = "per-channel",
    cols: int | None = None,
    pad: int = 1,
    scale: int = 1,
    colormap: str = "viridis",
    channels: Sequence[int] | None = None,
) -> PaletteImage:
    """``feature_grid`` as palette indices plus the palette (``.rgb()`` is exactly ``feature_grid``'s image).

    The colormap is applied to the palette (at most 257 colours), not to every pixel.
    """
    palette, index_of_level = colormaps.palette(colormap)
    indices = index_of_level[_levels(act, normalise, channels)]
    return PaletteImage(tile(indices, cols=cols, pad=pad, scale=scale, fill=len(palette) - 1), palette)


def feature_grid(
    act: Tensor | np.ndarray,
    *,
    normalise: Normalise = "per-channel",
    cols: int | None = None,
    pad: int = 1,
    scale: int = 1,
    colormap: str | None = "viridis",
    channels: Sequence[int] | None = None,
) -> np.ndarray:
    """All channels of one layer tiled into one image.

    ``normalise="per-channel"`` stretches each map to its own min..max (shows every map's pattern,
    hides how strong it is); ``"clipped"`` does the same up to each map's 99.5th percentile
    (``CLIP_PERCENTILE``; brighter values get the top colour), so sparse maps are not black;
    ``"shared"`` uses one range for the whole layer (shows which maps are strong; weak ones go dark).
    A constant map is drawn at the bottom of the range. Maps are separated by ``pad`` pixels of
    white, enlarged ``scale`` times by pixel repetition (no blur).
    Returns uint8 (H, W, 3) through ``colormap``, or uint8 (H, W) grey when ``colormap`` is None.
    """
    if colormap is not None:
        return feature_grid_indexed(
            act, normalise=normalise, cols=cols, pad=pad, scale=scale, colormap=colormap, channels=channels
        ).rgb()
    return tile(_levels(act, normalise, channels), cols=cols, pad=pad, scale=scale, fill=255)


def top_k(logits: Tensor | np.ndarray, k: int, class_names: Sequence[str] | None) -> list[dict]:
    """The ``k`` most probable classes (softmax of the logits): rank, index, name, probability."""
    values = torch.as_tensor(np.asarray(logits) if not isinstance(logits, Tensor) else logits.detach().cpu())
    values = values.double().reshape(-1)
    probs = torch.softmax(values, dim=0)
    k = min(k, probs.numel())
    top = torch.topk(probs, k)
    rows = []
    for rank, (p, idx) in enumerate(zip(top.values.tolist(), top.indices.tolist(), strict=True), start=1):
        name = class_names[idx] if class_names is not None and idx < len(class_names) else f"class {idx}"
        rows.append({"rank": rank, "index": idx, "name": name, "probability": p})
    return rows
