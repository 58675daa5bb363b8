"""What Local Response Normalization does to a network's activations (paper, section 3.3).

Tensors in, numbers and arrays out; no Streamlit. Every LRN evaluation goes
through ``alexnet.lrn.LocalResponseNorm`` (both alpha conventions, tower
groups): this module only arranges inputs for it and measures its outputs.

The paper's claim is that LRN implements "a form of lateral inhibition ...
creating competition for big activities amongst neuron outputs computed using
different kernels". The measures below make that visible:

- ``response_curve``: output of one channel against its own input, for a fixed
  energy (sum of squares) in the rest of its window.
- ``channel_contrast``: how unequal the channels are at each position
  (coefficient of variation across channels); scale-free, so LRN's overall
  division by about k**beta does not count as a change.
- ``hoyer_sparsity``: Hoyer's (2004) sparseness across channels at each position,
  1 for one active channel, 0 for all equal; also scale-free.
- ``winner_map`` / ``winner_change_share``: which channel is largest at each
  position, and how many positions change winner under LRN.
- ``run_features``: the conv stack with LRN set to the user's parameters or
  removed, to compare the downstream layers with LRN on and off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from alexnet.lrn import ALPHA_CONVENTIONS, LocalResponseNorm

# The paper's constants (section 3.3): k=2, n=5, alpha=1e-4, beta=0.75.
PAPER_LRN = {"k": 2.0, "size": 5, "alpha": 1e-4, "beta": 0.75}
NO_WINNER = -1  # winner_map value where no channel is positive (e.g. all ReLUs off)


@dataclass(frozen=True)
class LRNParams:
    """The user's LRN settings; ``module()`` builds the project's LocalResponseNorm from them."""

    k: float = PAPER_LRN["k"]
    size: int = PAPER_LRN["size"]
    alpha: float = PAPER_LRN["alpha"]
    beta: float = PAPER_LRN["beta"]
    alpha_convention: str = "cuda-convnet"
    groups: int = 1

    def __post_init__(self) -> None:
        if self.alpha_convention not in ALPHA_CONVENTIONS:
            raise ValueError(
                f"alpha_convention must be one of {ALPHA_CONVENTIONS}, got {self.alpha_convention!r}"
            )
        if self.size < 1 or self.groups < 1:
            raise ValueError("LRN size n and groups must be positive integers")
        if self.k < 0 or self.alpha < 0 or self.beta < 0:
            raise ValueError("LRN k, alpha and beta must be non-negative")

    def module(self) -> LocalResponseNorm:
        return LocalResponseNorm(
            size=self.size, alpha=self.alpha, beta=self.beta, k=self.k,
            alpha_convention=self.alpha_convention, groups=self.groups,  # type: ignore[arg-type]
        )

    @property
    def effective_alpha(self) -> float:
        return self.module().effective_alpha


@torch.no_grad()
def apply_lrn(x: Tensor, params: LRNParams) -> Tensor:
    """LRN of an (N, C, H, W) (or (C, H, W)) activation tensor with ``params``."""
    squeeze = x.dim() == 3
    out = params.module()(x.unsqueeze(0) if squeeze else x)
    return out[0] if squeeze else out


@torch.no_grad()
def response_curve(
    inputs: np.ndarray | list[float], neighbour_energy: float, params: LRNParams
) -> np.ndarray:
    """LRN output of one channel for each input value ``a``, at fixed energy in the rest of the window.

    ``neighbour_energy`` is the sum of squares of the other n-1 channels in the
    channel's window; it is spread equally over them (only the sum matters).
    The channel's own a**2 is part of the window too, which is why the curve
    bends over: b = a / (k + alpha' (a**2 + E)) ** beta. Groups play no part
    for one window, so the curve is computed with a single group.
    """
    if neighbour_energy < 0:
        raise ValueError("neighbour energy (a sum of squares) cannot be negative")
    a = torch.as_tensor(np.asarray(inputs, dtype=np.float64))
    n = params.size
    front = n // 2  # LocalResponseNorm's window: size//2 channels before, (size-1)//2 after
    x = torch.zeros(a.numel(), n, 1, 1, dtype=torch.float64)
    x[:, front, 0, 0] = a
    if n > 1:
        others = [c for c in range(n) if c != front]
        x[:, others, 0, 0] = (neighbour_energy / (n - 1)) ** 0.5
    single = LRNParams(params.k, params.size, params.alpha, params.beta, params.alpha_convention, groups=1)
    return single.module()(x)[:, front, 0, 0].numpy()


def _per_position(x: Tensor) -> Tensor:
    """(C, H, W) or (1, C, H, W) -> float64 (C, H*W)."""
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {x.shape[0]}")
        x = x[0]
    if x.dim() != 3:
        raise ValueError(f"expected (C, H, W) activations, got shape {tuple(x.shape)}")
    return x.detach().double().flatten(1)


def winner_map(x: Tensor) -> np.ndarray:
    """(H, W) int array: the index of the largest channel at each position, NO_WINNER where none is > 0.

    Ties go to the lowest channel index (torch.argmax's rule), so equal
    activations never count as a change of winner.
    """
    flat = _per_position(x)
    h, w = x.shape[-2:]
    winners = flat.argmax(dim=0)
    winners[flat.max(dim=0).values <= 0] = NO_WINNER
    return winners.view(h, w).numpy()


def winner_change_share(before: Tensor, after: Tensor) -> float:
    """Share of positions with an active channel whose winning channel differs after LRN.

    Positions where nothing is active before LRN are left out (LRN cannot make
    a zero positive, so they have no winner either way). NaN if none is active.
    """
    wb, wa = winner_map(before), winner_map(after)
    active = wb != NO_WINNER
    if not active.any():
        return float("nan")
    return float((wb[active] != wa[active]).mean())


def channel_contrast(x: Tensor) -> float:
    """Mean over positions (with any activity) of std/mean across channels; scale-free."""
    flat = _per_position(x)
    mean = flat.mean(dim=0)
    active = mean > 0
    if not active.any():
        return float("nan")
    cv = flat[:, active].std(dim=0, unbiased=False) / mean[active]
    return float(cv.mean())


def hoyer_sparsity(x: Tensor) -> float:
    """Mean over positions of Hoyer's sparseness across channels: (sqrt(C) - L1/L2) / (sqrt(C) - 1).

    1 when a single channel is non-zero, 0 when all channels are equal in size;
    positions with no activity are left out. Scale-free, like the contrast.
    """
    flat = _per_position(x).abs()
    c = flat.shape[0]
    if c < 2:
        raise ValueError("sparsity across channels needs at least two channels")
    l1, l2 = flat.sum(dim=0), flat.norm(dim=0)
    active = l2 > 0
    if not active.any():
        return float("nan")
    root = c ** 0.5
    return float(((root - l1[active] / l2[active]) / (root - 1)).mean())


def zero_fraction(x: Tensor) -> float:
    """Share of activations that are exactly zero (LRN keeps zeros at zero, so this is unchanged by it)."""
    return float((_per_position(x) == 0).double().mean())


def lrn_effect(before: Tensor, after: Tensor) -> dict[str, float]:
    """The before/after measures for one layer, as a flat dict (one table row per layer)."""
    positive = before > 0
    scale = (after[positive] / before[positive]).double()
    return {
        "contrast_before": channel_contrast(before),
        "contrast_after": channel_contrast(after),
        "sparsity_before": hoyer_sparsity(before),
        "sparsity_after": hoyer_sparsity(after),
        "zero_fraction": zero_fraction(before),
        "winner_change_share": winner_change_share(before, after),
        # after/before = (k + alpha' sum a^2) ** -beta: how strongly each active unit was divided.
        "mean_gain": float(scale.mean()) if scale.numel() else float("nan"),
        "min_gain": float(scale.min()) if scale.numel() else float("nan"),
    }


def _feature_stack(model: nn.Module) -> nn.Sequential:
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Sequential):
        raise ValueError(f"{type(model).__name__} has no sequential 'features' stack to run layer by layer")
    return features


def _is_lrn(module: nn.Module) -> bool:
    return isinstance(module, (LocalResponseNorm, nn.LocalResponseNorm))


def lrn_layer_count(model: nn.Module) -> int:
    """How many LRN layers the model itself has (0 for torchvision's AlexNet or the no-LRN ablation)."""
    return sum(_is_lrn(m) for m in _feature_stack(model))


@torch.no_grad()
def run_features(
    model: nn.Module,
    x: Tensor,
    params: LRNParams | None,
    lrn_after: tuple[int, ...] = (1, 2),
    with_logits: bool = False,
) -> dict[str, Tensor]:
    """Run ``model`` on ``x`` with LRN set to ``params`` (or removed when None), recording activations.

    The model's own LRN layers are bypassed; instead LRN with ``params`` is
    applied after the activation (ReLU/tanh) of each conv layer numbered in
    ``lrn_after`` (the paper: conv1 and conv2). This also asks what LRN would do
    to a model built without it (torchvision's AlexNet, the no-LRN ablation).

    The swap is done with forward hooks during one call of the model's own
    forward, so any input conversion a wrapper does (the dashboard's
    torchvision wrapper) still happens. The hooks are removed before
    returning, and the model lock of ``explorer.activations`` keeps other
    sessions sharing the model from running it meanwhile; weights are never touched.

    Returns, in order: ``conv{i}`` (conv i after its activation, before any
    LRN), ``lrn{i}`` (after LRN, for i in ``lrn_after`` when params is given),
    ``pool5`` (the conv stack's output) and, with ``with_logits``, ``logits``.
    """
    from explorer.activations import _model_lock

    if model.training:
        raise ValueError("run_features needs a model in eval mode (dropout would make the result random)")
    lrn = params.module() if params is not None else None
    out: dict[str, Tensor] = {}
    hooks: list[tuple[nn.Module, object]] = []
    conv_index, pending_conv = 0, False
    modules = list(_feature_stack(model))
    for module in modules:
        if _is_lrn(module):
            hooks.append((module, lambda _m, inputs, _out: inputs[0]))  # bypass the model's own LRN
            continue
        if isinstance(module, nn.Conv2d):
            conv_index += 1
            pending_conv = True
        elif pending_conv and isinstance(module, (nn.ReLU, nn.Tanh)):
            pending_conv = False
            hooks.append((module, _record_then_normalise(out, conv_index, lrn if conv_index in lrn_after else None)))
    hooks.append((modules[-1], _record(out, "pool5")))

    with _model_lock(model):
        handles = [module.register_forward_hook(hook) for module, hook in hooks]
        try:
            logits = model(x)
        finally:
            for handle in handles:
                handle.remove()
    if with_logits:
        out["logits"] = logits.detach().clone()
    return out


def _record(out: dict[str, Tensor], name: str):
    def hook(_module: nn.Module, _inputs: tuple, output: Tensor) -> None:
        out[name] = output.detach().clone()
    return hook


def _record_then_normalise(out: dict[str, Tensor], conv_index: int, lrn: nn.Module | None):
    def hook(_module: nn.Module, _inputs: tuple, output: Tensor) -> Tensor | None:
        # clone: the paper model's ReLUs work in place, so later layers could overwrite the tensor.
        out[f"conv{conv_index}"] = output.detach().clone()
        if lrn is None:
            return None
        normalised = lrn(output)
        out[f"lrn{conv_index}"] = normalised.detach().clone()
        return normalised  # a forward hook's return value replaces the module's output
    return hook


def downstream_change(
    with_lrn: dict[str, Tensor], without_lrn: dict[str, Tensor]
) -> list[dict[str, float | str]]:
    """Per layer present in both runs: how far the activations with LRN are from those without.

    ``relative_change`` is ||on - off|| / ||off||; ``cosine`` compares directions
    only (a pure rescaling gives 1); ``winner_change_share`` is over positions
    for feature maps. Rows follow the order of ``with_lrn``.
    """
    rows: list[dict[str, float | str]] = []
    for name, on in with_lrn.items():
        off = without_lrn.get(name)
        if off is None or name.startswith("lrn"):
            continue
        on64, off64 = on.double().flatten(), off.double().flatten()
        off_norm = float(off64.norm())
        row: dict[str, float | str] = {
            "layer": name,
            "relative_change": float((on64 - off64).norm()) / off_norm if off_norm > 0 else float("nan"),
            "cosine": float(torch.nn.functional.cosine_similarity(on64, off64, dim=0)),
            "norm_ratio": float(on64.norm()) / off_norm if off_norm > 0 else float("nan"),
        }
        if on.dim() == 4:
            row["winner_change_share"] = winner_change_share(off, on)
        elif name == "logits":
            row["same_top1"] = float(on.argmax(dim=1).eq(off.argmax(dim=1)).all())
        rows.append(row)
    return rows


def response_range(params: LRNParams, neighbour_energy: float = 0.0) -> float:
    """A useful upper end for a response curve's input axis: twice the input where the output peaks.

    For b = a / (k + alpha' (a^2 + E))^beta the peak is at a* = sqrt((k + alpha' E) / ((2 beta - 1) alpha')).
    Without a peak (beta <= 1/2 or alpha' = 0) the curve only bends, and 1000 is returned.
    """
    alpha = params.effective_alpha
    if params.beta <= 0.5 or alpha <= 0:
        return 1000.0
    peak = ((params.k + alpha * neighbour_energy) / ((2 * params.beta - 1) * alpha)) ** 0.5
    return float(min(max(2 * peak, 1e-3), 1e7))


def winner_colours(channels: int) -> np.ndarray:
    """(channels + 1, 3) uint8: a distinct colour per channel (golden-ratio hues), black last for NO_WINNER."""
    hue = (np.arange(channels) * 0.6180339887) % 1.0
    sat = np.where(np.arange(channels) % 2 == 0, 0.75, 0.5)
    val = np.where(np.arange(channels) % 3 == 0, 0.95, 0.8)
    from matplotlib.colors import hsv_to_rgb

    rgb = hsv_to_rgb(np.stack([hue, sat, val], axis=1))
    return np.concatenate([np.round(rgb * 255), np.zeros((1, 3))]).astype(np.uint8)


def winner_image(winners: np.ndarray, channels: int, scale: int = 1) -> np.ndarray:
    """uint8 (H*scale, W*scale, 3) picture of a winner map: one colour per channel, black where none wins."""
    palette = winner_colours(channels)
    image = palette[np.where(winners == NO_WINNER, channels, winners)]
    return image.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else image


def change_image(before: np.ndarray, after: np.ndarray, scale: int = 1) -> np.ndarray:
    """uint8 RGB: white where the winner changed, grey where it stayed, black where nothing was active."""
    image = np.full((*before.shape, 3), 110, dtype=np.uint8)
    image[before != after] = 255
    image[before == NO_WINNER] = 0
    return image.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else image


def winner_shift_rows(before: np.ndarray, after: np.ndarray, channels: int) -> list[dict[str, int]]:
    """Per channel: positions won before and after LRN, sorted by the size of the change (largest first)."""
    valid_b, valid_a = before[before != NO_WINNER], after[after != NO_WINNER]
    wins_b = np.bincount(valid_b, minlength=channels)
    wins_a = np.bincount(valid_a, minlength=channels)
    order = np.argsort(-np.abs(wins_a - wins_b), kind="stable")
    return [
        {"channel": int(c), "wins_before": int(wins_b[c]), "wins_after": int(wins_a[c]),
         "change": int(wins_a[c] - wins_b[c])}
        for c in order if wins_a[c] != wins_b[c]
    ]


def analyse_image(
    model: nn.Module, x: Tensor, params: LRNParams, lrn_after: tuple[int, ...] = (1, 2), with_logits: bool = False
) -> dict:
    """Everything the LRN page shows for one image, as numpy arrays and plain numbers.

    ``layers[conv]``: ``before``/``after`` (C, H, W) float32, ``effect`` (``lrn_effect``),
    ``winners_before``/``winners_after`` (H, W). ``downstream``: ``downstream_change`` rows
    (LRN with ``params`` against no LRN); ``downstream_maps[conv]``: (with LRN, without) (C, H, W)
    arrays of the conv layers after the last LRN. ``logits_on``/``logits_off`` when ``with_logits``.
    ``activation_p99``: the 99th percentile of conv1's positive activations (where the
    response curve is worth looking).
    """
    on = run_features(model, x, params, lrn_after=lrn_after, with_logits=with_logits)
    off = run_features(model, x, None, with_logits=with_logits)
    layers = {}
    for i in lrn_after:
        before, after = on[f"conv{i}"], on[f"lrn{i}"]
        layers[f"conv{i}"] = {
            "before": before[0].float().numpy(),
            "after": after[0].float().numpy(),
            "effect": lrn_effect(before, after),
            "winners_before": winner_map(before),
            "winners_after": winner_map(after),
        }
    # The layers after the last LRN, as maps with LRN on and off, for side-by-side pictures.
    downstream_maps = {
        name: (on[name][0].float().numpy(), off[name][0].float().numpy())
        for name in on
        if name.startswith("conv") and int(name[4:]) > max(lrn_after) and name in off
    }
    first = on[f"conv{lrn_after[0]}"]
    positive = first[first > 0]
    result = {
        "layers": layers,
        "downstream": downstream_change(on, off),
        "downstream_maps": downstream_maps,
        "activation_p99": float(torch.quantile(positive.double(), 0.99)) if positive.numel() else 0.0,
    }
    if with_logits:
        result["logits_on"] = on["logits"][0].numpy()
        result["logits_off"] = off["logits"][0].numpy()
    return result


def response_curves(
    params: LRNParams, energies: tuple[float, ...], a_max: float, points: int = 200
) -> dict[str, np.ndarray]:
    """Columns for the response-curve plot and CSV: ``input`` and one ``output_E=<energy>`` per energy."""
    a = np.linspace(0.0, a_max, points)
    columns = {"input": a}
    for energy in energies:
        columns[f"output_E={energy:g}"] = response_curve(a, energy, params)
    return columns


def response_figure(columns: dict[str, np.ndarray], params: LRNParams, mark: float | None = None):
    """matplotlib Figure of ``response_curves`` columns, with b = a (no LRN) for reference."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 3.6), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    a = columns["input"]
    ax.plot(a, a, color="0.6", lw=1, ls=":", label="no LRN (b = a)")
    for name, values in columns.items():
        if name != "input":
            ax.plot(a, values, lw=1.8, label=f"neighbour energy {name.split('=', 1)[1]}")
    if mark is not None and 0 < mark <= a[-1]:
        ax.axvline(mark, color="crimson", lw=1, ls="--", label=f"99th percentile of this image's conv1 ({mark:.3g})")
    top = max(float(np.max(v)) for k, v in columns.items() if k != "input")
    ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    ax.set_xlim(0, a[-1])
    ax.set_xlabel("input activation a (after ReLU)")
    ax.set_ylabel("output b")
    ax.set_title(
        f"k={params.k:g}, n={params.size}, alpha={params.alpha:g} ({params.alpha_convention}: "
        f"alpha'={params.effective_alpha:.3g}), beta={params.beta:g}", fontsize=9,
    )
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def channel_pair(before: np.ndarray, after: np.ndarray, channel: int) -> np.ndarray:
    """(2, H, W): one channel before and after LRN, ready to tile on one shared colour scale."""
    if not 0 <= channel < before.shape[0]:
        raise IndexError(f"channel {channel} out of range 0..{before.shape[0] - 1}")
    return np.stack([before[channel], after[channel]])


def shared_range_grids(
    before: np.ndarray, after: np.ndarray, *, colormap: str = "viridis", scale: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """All channels before and after LRN as two tiled uint8 RGB images on one colour scale.

    One range (the smaller minimum to the larger maximum of the two) for both grids,
    so LRN's division shows as a darker "after" grid, not hidden by re-stretching.
    """
    from matplotlib import colormaps

    from explorer.kernels import tile

    if before.shape != after.shape or before.ndim != 3:
        raise ValueError(f"expected two (C, H, W) arrays of one shape, got {before.shape} and {after.shape}")
    lo = float(min(before.min(), after.min()))
    hi = float(max(before.max(), after.max()))
    span = hi - lo if hi > lo else 1.0
    lut = (colormaps[colormap](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)
    cols = int(np.ceil(np.sqrt(before.shape[0])))

    def grid(maps: np.ndarray) -> np.ndarray:
        levels = np.clip(np.round((maps - lo) / span * 255), 0, 255).astype(np.uint8)
        return tile(lut[levels], cols=cols, pad=1, scale=scale)

    return grid(before), grid(after)
