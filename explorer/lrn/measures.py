"""LRN settings and what LRN does to activations, measured: response curves, winners, contrast, sparsity, gain.

Every LRN evaluation goes through ``alexnet.lrn.LocalResponseNorm`` (both alpha conventions, tower
groups): this module only arranges inputs for it and measures its outputs. The paper's claim is that
LRN implements "a form of lateral inhibition ... creating competition for big activities amongst
neuron outputs computed using different kernels". The measures make that visible:

- ``response_curve``: output of one channel against its own input, for a fixed energy (sum of
  squares) in the rest of its window.
- ``channel_contrast``: how unequal the channels are at each position (coefficient of variation
  across channels); scale-free, so LRN's overall division by about k**beta does not count as a change.
- ``hoyer_sparsity``: Hoyer's (2004) sparseness across channels at each position, 1 for one active
  channel, 0 for all equal; also scale-free.
- ``winner_map`` / ``winner_change_share``: which channel is largest at each position, and how many
  positions change winner under LRN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

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


def response_curves(
    params: LRNParams, energies: tuple[float, ...], a_max: float, points: int = 200
) -> dict[str, np.ndarray]:
    """Columns for the response-curve plot and CSV: ``input`` and one ``output_E=<energy>`` per energy."""
    a = np.linspace(0.0, a_max, points)
    columns = {"input": a}
    for energy in energies:
        columns[f"output_E={energy:g}"] = response_curve(a, energy, params)
    return columns


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
