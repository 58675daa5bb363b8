"""Pictures and scores of convolution kernels (no Streamlit).

The paper's Figure 3 shows conv1's 96 learned 11x11x3 kernels: "the kernels on GPU 1 are largely
color-agnostic, while the kernels on GPU 2 are largely color-specific" (section 6.1), and many are
oriented edge and grating detectors. Two scores put numbers on those two observations:

``colour_specificity`` -- share of a kernel's energy (sum of squared weights) that is *not* in its
greyscale component. The greyscale component is the channel mean ``g = (r + g + b) / 3`` repeated
in all three channels, i.e. the projection of the kernel onto kernels with equal R, G and B; the
rest is colour. 0 = colour-agnostic (R = G = B everywhere), 2/3 for a kernel living in one channel
only, 1 for a purely colour-opponent kernel (channels summing to zero everywhere); random Gaussian
weights give 2/3 on average.

``orientation_selectivity`` -- share of a kernel's spectral energy (power of its 2-D Fourier
transform, summed over input channels, mean removed, zero-padded to 32x32) that lies in the best
orientation band of ``band_degrees`` (default 30 degrees). An oriented grating or edge scores near
1; an isotropic blob or white noise scores about band/180 = 1/6.

``oriented_share`` -- share of kernels more oriented than ``quantile`` (default 99%) of random
Gaussian kernels of the same shape (``random_orientation_threshold``). A fixed cut such as 0.5 says
nothing about chance: an 11x11 noise kernel already scores about 0.23, and kernels trained on a small
dataset keep much of their initial noise, which spreads energy over all orientations. Calibrating the
cut on noise makes the share read as "kernels no random kernel would match": about 1% for the paper's
initial weights, by construction.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from torch import Tensor, nn

from explorer.colormaps import diverging
from explorer.grids import tile

__all__ = [
    "channel_slices",
    "colour_specificity",
    "conv_shape",
    "conv_weights",
    "kernel_grid",
    "kernel_scores",
    "kernel_image",
    "kernel_slices",
    "orientation_selectivity",
    "oriented_share",
    "random_orientation_threshold",
    "tower_summary",
    "towers_split",
]

Contrast = Literal["per-kernel", "shared"]


def _numpy(weight: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(weight, Tensor):
        return weight.detach().float().cpu().numpy()
    return np.asarray(weight, dtype=np.float32)


def _bound(w: np.ndarray, contrast: Contrast) -> np.ndarray:
    """Largest absolute value per kernel (first axis) or over the whole layer, broadcastable against ``w``."""
    if contrast == "per-kernel":
        return np.abs(w).max(axis=tuple(range(1, w.ndim)), keepdims=True)
    if contrast == "shared":
        return np.full((1,) * w.ndim, np.abs(w).max(), dtype=np.float32)
    raise ValueError(f"contrast must be 'per-kernel' or 'shared', got {contrast!r}")


def _rgb_tiles(w: np.ndarray, contrast: Contrast) -> np.ndarray:
    """(N, 3, k, k) weights -> (N, k, k, 3) uint8, zero weight at mid-grey.

    Each kernel is scaled symmetrically around zero (by its largest absolute weight, or the
    layer's for ``"shared"``), so mid-grey always means zero and colours keep their sign.
    """
    bound = _bound(w, contrast)
    bound = np.where(bound > 0, bound, 1.0)
    unit = 0.5 + 0.5 * w / bound
    return np.clip(np.round(unit * 255), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def kernel_grid(
    weight: Tensor | np.ndarray,
    contrast: Contrast = "per-kernel",
    towers: int = 1,
    *,
    scale: int = 4,
    pad: int = 1,
    tower_gap: int = 12,
) -> np.ndarray:
    """RGB picture of first-layer kernels (N, 3, k, k), like the paper's Figure 3.

    With ``towers=2`` the first N/2 kernels (tower 1) and the rest (tower 2) are drawn as two
    blocks side by side, ``tower_gap`` white pixels apart. Returns uint8 (H, W, 3).
    """
    w = _numpy(weight)
    if w.ndim != 4 or w.shape[1] != 3:
        raise ValueError(f"kernel_grid needs first-layer weights (N, 3, k, k), got {w.shape}")
    if towers not in (1, 2) or w.shape[0] % towers:
        raise ValueError(f"cannot split {w.shape[0]} kernels into {towers} towers")
    tiles = _rgb_tiles(w, contrast)
    if towers == 1:
        return tile(tiles, cols=12 if w.shape[0] % 12 == 0 else None, pad=pad, scale=scale)
    half = w.shape[0] // 2
    # Six columns per tower: 48 kernels -> 8 rows of 6, the two blocks side by side like Figure 3's halves.
    cols = 6 if half % 6 == 0 else None
    left = tile(tiles[:half], cols=cols, pad=pad, scale=scale)
    right = tile(tiles[half:], cols=cols, pad=pad, scale=scale)
    gap = np.full((left.shape[0], tower_gap, 3), 255, dtype=np.uint8)
    return np.concatenate([left, gap, right], axis=1)


def kernel_image(
    weight: Tensor | np.ndarray, index: int, contrast: Contrast = "per-kernel", *, scale: int = 24
) -> np.ndarray:
    """Kernel ``index`` of first-layer weights (N, 3, k, k) enlarged ``scale`` times. uint8 (H, W, 3).

    ``"shared"`` contrast scales it by the whole layer's largest weight, as in ``kernel_grid``.
    """
    w = _numpy(weight)
    if not 0 <= index < w.shape[0]:
        raise IndexError(f"kernel {index} out of range 0..{w.shape[0] - 1}")
    if contrast == "shared":
        return tile(_rgb_tiles(w, "shared")[index : index + 1], pad=0, scale=scale)
    return tile(_rgb_tiles(w[index : index + 1], contrast), pad=0, scale=scale)


def _diverging_tiles(slices: np.ndarray, contrast: Contrast) -> np.ndarray:
    return diverging(slices, _bound(slices, contrast))


def channel_slices(
    weight: Tensor | np.ndarray, in_channel: int, contrast: Contrast = "per-kernel", *, scale: int = 6
) -> np.ndarray:
    """How every output kernel of a deeper layer weighs one input channel: ``weight[:, in_channel]`` tiled.

    ``weight`` is (out, in/groups, k, k); ``in_channel`` indexes the second axis (for the paper's
    grouped layers that is the channel within each kernel's own tower). Blue negative, red positive.
    """
    w = _numpy(weight)
    if w.ndim != 4:
        raise ValueError(f"expected conv weights (out, in, k, k), got {w.shape}")
    if not 0 <= in_channel < w.shape[1]:
        raise IndexError(f"input channel {in_channel} out of range 0..{w.shape[1] - 1}")
    return tile(_diverging_tiles(w[:, in_channel], contrast), scale=scale)


def kernel_slices(
    weight: Tensor | np.ndarray, out_channel: int, contrast: Contrast = "shared", *, scale: int = 6
) -> np.ndarray:
    """One output kernel of a deeper layer as its per-input-channel slices ``weight[out_channel]`` tiled.

    Shared contrast by default, so the picture shows which input channels the kernel relies on.
    """
    w = _numpy(weight)
    if w.ndim != 4:
        raise ValueError(f"expected conv weights (out, in, k, k), got {w.shape}")
    if not 0 <= out_channel < w.shape[0]:
        raise IndexError(f"kernel {out_channel} out of range 0..{w.shape[0] - 1}")
    slices = w[out_channel]
    # A handful of slices (conv1's R, G, B) read best in one row.
    return tile(_diverging_tiles(slices, contrast), cols=len(slices) if len(slices) <= 4 else None, scale=scale)


def colour_specificity(weight: Tensor | np.ndarray) -> np.ndarray:
    """Per kernel of (N, 3, k, k): energy outside the greyscale component / total energy, in [0, 1].

    See the module docstring; an all-zero kernel scores 0.
    """
    w = _numpy(weight).astype(np.float64)
    if w.ndim != 4 or w.shape[1] != 3:
        raise ValueError(f"colour_specificity needs RGB kernels (N, 3, k, k), got {w.shape}")
    grey = w.mean(axis=1, keepdims=True)
    total = (w**2).sum(axis=(1, 2, 3))
    colour = ((w - grey) ** 2).sum(axis=(1, 2, 3))
    return np.where(total > 0, colour / np.where(total > 0, total, 1.0), 0.0)


def orientation_selectivity(
    weight: Tensor | np.ndarray, *, band_degrees: float = 30.0, fft_size: int = 32, centres: int = 36
) -> np.ndarray:
    """Per kernel of (N, C, k, k): largest share of spectral energy inside one orientation band.

    The kernel's mean (per input channel) is removed first, so a uniform offset does not count.
    Each frequency's orientation is taken modulo 180 degrees; ``centres`` band centres are tried
    and the best share is returned. Range [band/180, 1] in practice; 0 for a constant kernel.
    """
    w = _numpy(weight).astype(np.float64)
    if w.ndim == 3:
        w = w[:, None]
    if w.ndim != 4:
        raise ValueError(f"expected kernels (N, C, k, k), got {w.shape}")
    if fft_size < max(w.shape[2:]):
        raise ValueError(f"fft_size {fft_size} is smaller than the kernel {w.shape[2:]}")
    w = w - w.mean(axis=(2, 3), keepdims=True)
    power = (np.abs(np.fft.fft2(w, s=(fft_size, fft_size))) ** 2).sum(axis=1)  # (N, F, F)
    freqs = np.fft.fftfreq(fft_size)
    fy, fx = np.meshgrid(freqs, freqs, indexing="ij")
    # Orientation of the grating each frequency describes, in [0, 180).
    angle = np.degrees(np.arctan2(fy, fx)) % 180.0
    nonzero = (fx != 0) | (fy != 0)
    half = band_degrees / 2.0
    centre_angles = np.arange(centres) * (180.0 / centres)
    diff = np.abs(angle[None] - centre_angles[:, None, None])
    diff = np.minimum(diff, 180.0 - diff)
    masks = ((diff <= half) & nonzero[None]).astype(np.float64)  # (centres, F, F)
    total = (power * nonzero).sum(axis=(1, 2))
    in_band = np.einsum("nij,cij->nc", power, masks)
    best = in_band.max(axis=1)
    return np.where(total > 0, best / np.where(total > 0, total, 1.0), 0.0)


@lru_cache(maxsize=16)
def random_orientation_threshold(
    kernel_shape: tuple[int, int, int], quantile: float = 0.99, samples: int = 5000, seed: int = 0
) -> float:
    """The ``quantile`` of ``orientation_selectivity`` over ``samples`` i.i.d. Gaussian kernels (C, k, k).

    The scores do not depend on the weights' scale, so this is the chance level for any random init
    of that shape (about 0.28 at the 99% quantile for 3x11x11). Seeded, so it is the same every run.
    """
    noise = np.random.default_rng(seed).standard_normal((samples, *kernel_shape))
    return float(np.quantile(orientation_selectivity(noise), quantile))


def _beyond_chance(selectivity: np.ndarray, kernel_shape: tuple[int, ...], quantile: float) -> np.ndarray:
    """Which of these orientation selectivities beat ``quantile`` of random kernels of ``kernel_shape``."""
    return selectivity > random_orientation_threshold(tuple(int(d) for d in kernel_shape), quantile)


def oriented_share(weight: Tensor | np.ndarray, quantile: float = 0.99) -> float:
    """Share of kernels (N, C, k, k) more oriented than ``quantile`` of random kernels of their shape."""
    w = _numpy(weight)
    return float(_beyond_chance(orientation_selectivity(w), w.shape[1:], quantile).mean())


def towers_split(n: int, towers: int) -> np.ndarray:
    """Tower number (1-based) of each of ``n`` kernels."""
    return (np.arange(n) * towers // n) + 1


def conv_weights(model: nn.Module, layer: str) -> np.ndarray:
    """A float32 numpy copy of conv layer ``layer``'s weights (canonical names conv1..conv5)."""
    from explorer.activations import conv_layers

    convs = conv_layers(model)
    if layer not in convs:
        raise KeyError(f"no conv layer {layer!r}; layers: {', '.join(convs)}")
    return convs[layer].weight.detach().float().cpu().numpy().copy()


def conv_shape(model: nn.Module, layer: str) -> tuple[int, int, int, int, int]:
    """(out_channels, in_channels per group, kernel height, kernel width, groups) of conv layer ``layer``."""
    from explorer.activations import conv_layers

    conv = conv_layers(model)[layer]
    out_channels, in_per_group, kh, kw = conv.weight.shape
    return int(out_channels), int(in_per_group), int(kh), int(kw), int(conv.groups)


def kernel_scores(weight: Tensor | np.ndarray, towers: int = 1, quantile: float = 0.99) -> dict[str, np.ndarray]:
    """Per-kernel table of first-layer weights.

    Columns: kernel, tower, colour_specificity, orientation_selectivity, oriented (selectivity above
    the ``quantile`` of random kernels, see ``oriented_share``), norm.
    """
    w = _numpy(weight)
    orientation = orientation_selectivity(w)
    return {
        "kernel": np.arange(w.shape[0]),
        "tower": towers_split(w.shape[0], towers),
        "colour_specificity": colour_specificity(w),
        "orientation_selectivity": orientation,
        "oriented": _beyond_chance(orientation, w.shape[1:], quantile),
        "norm": np.sqrt((w.astype(np.float64) ** 2).sum(axis=(1, 2, 3))),
    }


def tower_summary(scores: dict[str, np.ndarray]) -> list[dict[str, float]]:
    """Per tower of a ``kernel_scores`` table: its share of oriented kernels and mean colour specificity."""
    rows = []
    for tower in np.unique(scores["tower"]):
        mask = scores["tower"] == tower
        rows.append({"tower": int(tower), "oriented_share": float(scores["oriented"][mask].mean()),
                     "mean_colour_specificity": float(scores["colour_specificity"][mask].mean())})
    return rows
