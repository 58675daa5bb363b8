"""Feature visualisation: an image that one channel responds to strongly, found by gradient ascent on the pixels.

Activation maximisation (Erhan et al. 2009) with the regularisers of Olah, Mordvintsev & Schubert,
"Feature Visualization" (Distill 2017), written out here in a few lines rather than taken from
torch-lucent (not a dependency):

- the image is parameterised in a decorrelated space: its Fourier coefficients, scaled by 1/frequency
  so that every frequency starts equally strong (plain pixels let high frequencies take over and
  the result is noise that excites the unit), and colours through the square root of ImageNet's
  colour correlation (Lucid's ``color_correlation_svd_sqrt``), squashed into 0..1 by a sigmoid;
- each step sees the image randomly jittered and rescaled (transformation robustness), so the
  result does not depend on one exact pixel alignment.

The objective is the channel's mean over positions before its ReLU (the ReLU would cut the gradient
wherever the channel is negative, i.e. almost everywhere at the start). Only the layers up to the
chosen one run, and only the image gets gradients (``torch.autograd.grad``): the shared model is
never written to.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explorer.activations import feature_stages, model_lock
from explorer.attribution import Progress

__all__ = ["COLOUR_CORRELATION", "channel_response", "visualise_channel"]

# Square root of ImageNet's RGB covariance (Lucid, lucid/optvis/param/color.py), columns normalised by
# the largest column norm below: maps decorrelated coordinates to RGB.
COLOUR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
_COLOUR = COLOUR_CORRELATION / COLOUR_CORRELATION.norm(dim=0).max()
SCALES = (1.0, 0.975, 1.025, 0.95, 1.05)  # Lucid's standard random scales


def _spectrum_scale(size: int, decay: float) -> Tensor:
    """1 / frequency ** decay for every rfft2 coefficient of a size x size image (times size, Lucid's normalisation)."""
    fy = torch.fft.fftfreq(size).view(-1, 1)
    fx = torch.fft.rfftfreq(size).view(1, -1)
    freqs = (fy**2 + fx**2).sqrt()
    return size / freqs.clamp_min(1.0 / size) ** decay


def _image(spectrum: Tensor, scale: Tensor, size: int) -> Tensor:
    """(3, size, size) RGB in 0..1 from the decorrelated Fourier parameters."""
    pixels = torch.fft.irfft2(torch.view_as_complex(spectrum) * scale, s=(size, size)) / 4.0  # Lucid's constant
    rgb = torch.einsum("ij,jhw->ihw", _COLOUR, pixels)
    return torch.sigmoid(rgb)


def _transform(x: Tensor, jitter: int, generator: torch.Generator) -> Tensor:
    """Random jitter, rescale and jitter again (Lucid's standard transforms, without the small rotations)."""

    def shift(t: Tensor, amount: int) -> Tensor:
        if amount <= 0:
            return t
        dy, dx = (int(v) for v in torch.randint(-amount, amount + 1, (2,), generator=generator))
        return torch.roll(t, shifts=(dy, dx), dims=(-2, -1))

    x = shift(x, jitter)
    s = SCALES[int(torch.randint(len(SCALES), (1,), generator=generator))]
    if s != 1.0:
        x = F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False, recompute_scale_factor=False)
    return shift(x, max(jitter // 2, 0))


def _layer_modules(model: nn.Module, layer: str) -> list[nn.Module]:
    """The feature modules from the first up to ``layer``'s (a canonical name: conv1 ... pool5)."""
    stages = {s.name: s.module for s in feature_stages(model)}
    if layer not in stages:
        raise KeyError(f"unknown layer {layer!r}; known: {', '.join(stages)}")
    modules = []
    for module in model.features.children():
        modules.append(module)
        if module is stages[layer]:
            return modules
    raise KeyError(f"{layer} is not a direct child of the model's features")  # pragma: no cover


def visualise_channel(
    model: nn.Module,
    layer: str,
    channel: int,
    *,
    mean_rgb: Sequence[float] | Tensor = (128.0, 128.0, 128.0),
    size: int = 128,
    steps: int = 256,
    lr: float = 0.05,
    jitter: int = 8,
    decay: float = 1.0,
    seed: int = 0,
    progress: Progress | None = None,
) -> np.ndarray:
    """A uint8 (size, size, 3) image maximising ``channel`` of ``layer`` (mean over positions), by Adam on the image.

    ``mean_rgb`` is what the model subtracts from 0..255 pixels (e.g. the mean of the training set's
    mean image); ``progress(step, steps)`` follows each step (raise from it to stop). Deterministic
    for a given ``seed``.
    """
    if model.training:
        raise ValueError("feature visualisation needs a model in eval mode (call model.eval() first)")
    modules = _layer_modules(model, layer)
    out_channels = next((m.out_channels for m in reversed(modules) if isinstance(m, nn.Conv2d)), None)
    if out_channels is not None and not 0 <= channel < out_channels:
        raise IndexError(f"{layer} has channels 0..{out_channels - 1}, not {channel}")
    generator = torch.Generator().manual_seed(seed)
    scale = _spectrum_scale(size, decay)
    spectrum = (torch.randn(3, size, size // 2 + 1, 2, generator=generator) * 0.01).requires_grad_(True)
    mean = torch.as_tensor(mean_rgb, dtype=torch.float32).view(1, 3, 1, 1)
    optimiser = torch.optim.Adam([spectrum], lr=lr)
    for step in range(steps):
        x = _transform(_image(spectrum, scale, size).unsqueeze(0) * 255.0 - mean, jitter, generator)
        with model_lock(model):  # another session's capture hooks must not record these passes
            for module in modules:
                x = module(x)
        loss = -x[0, channel].mean()
        (grad,) = torch.autograd.grad(loss, [spectrum])
        spectrum.grad = grad
        optimiser.step()
        if progress is not None:
            progress(step + 1, steps)
    with torch.no_grad():
        image = _image(spectrum, scale, size)
    return (image.permute(1, 2, 0) * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()


def channel_response(model: nn.Module, layer: str, channel: int, image: np.ndarray,
                     mean_rgb: Sequence[float] | Tensor = (128.0, 128.0, 128.0)) -> float:
    """The channel's mean response (before its ReLU) to a uint8 (H, W, 3) image: how well a picture excites it."""
    modules = _layer_modules(model, layer)
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0).float()
    x = x - torch.as_tensor(mean_rgb, dtype=torch.float32).view(1, 3, 1, 1)
    with torch.no_grad(), model_lock(model):
        for module in modules:
            x = module(x)
    return float(x[0, channel].mean())

