"""torchvision's AlexNet behind the project's loading interface.

torchvision's ``alexnet`` is the later "one weird trick" variant (64/192/384/256/256
kernels, no LRN, no towers, 224 input); see ../shared/PAPER.md. Its ImageNet
weights come from the PyTorch hub. This module uses them when they are already
on the machine (or can be downloaded) and otherwise fails with one clear sentence.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from alexnet.errors import WeightsUnavailableError


def _weights_enum(weights: str):
    from torchvision.models import AlexNet_Weights

    name = "IMAGENET1K_V1" if weights in ("DEFAULT", "default") else weights
    try:
        return AlexNet_Weights[name]
    except KeyError:
        raise ValueError(
            f"unknown torchvision AlexNet weights {weights!r}; known: "
            f"{', '.join(w.name for w in AlexNet_Weights)}"
        ) from None


def torchvision_weights_path(weights: str = "IMAGENET1K_V1") -> Path:
    """Where torch.hub keeps (or would keep) the weights file."""
    url = _weights_enum(weights).url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def torchvision_weights_available(weights: str = "IMAGENET1K_V1") -> bool:
    """True when the weights file is already on this machine (no network needed)."""
    return torchvision_weights_path(weights).is_file()


def load_torchvision_alexnet(weights: str | None = "IMAGENET1K_V1", *, download: bool = True) -> nn.Module:
    """torchvision's AlexNet in eval mode, with ImageNet weights unless ``weights=None``.

    With ``download=False`` only an already-cached file is used. Any failure to
    obtain the weights raises ``WeightsUnavailableError`` naming the file and the cause.
    """
    from torchvision.models import alexnet

    if weights is None:
        return alexnet(weights=None).eval()
    enum = _weights_enum(weights)
    path = torchvision_weights_path(weights)
    if not path.is_file() and not download:
        raise WeightsUnavailableError(
            f"torchvision AlexNet weights {enum.name} are not on this machine (expected {path})"
        )
    try:
        return alexnet(weights=enum, progress=False).eval()
    except Exception as exc:  # URLError, HTTPError, hash mismatch, corrupt file ...
        cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsUnavailableError(
            f"could not load torchvision AlexNet weights {enum.name}: not cached at {path} and "
            f"the download failed ({cause}). Copy the file there from a machine that is online."
        ) from None
