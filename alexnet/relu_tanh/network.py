"""The Figure 1 network: cuda-convnet's four-layer layers-19pct (FourLayerNet) and build_model.

The paper does not give the network. The closest published configuration of the
authors' own code is cuda-convnet's example "layers-19pct" (four weight layers):
conv 32 5x5 -> max pool 3/2 -> conv 32 5x5 -> avg pool 3/2 -> conv 64 5x5 ->
avg pool 3/2 -> fc 10, with the activation after each conv (after the max pool in
conv1's case, which is the same thing for a monotone activation and cheaper).
Padding 2 on the convolutions and pools that round up (cuda-convnet's
``outputsX = ceil((size - 3) / 2) + 1``) keep the maps at 32 -> 16 -> 8 -> 4 as in
layers-19pct. Its initialisation (``initW``): conv1 weights N(0, 1e-4),
conv2/conv3/fc N(0, 1e-2), biases 0.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from alexnet.relu_tanh.config import ACTIVATIONS, ReluTanhConfig


class FourLayerNet(nn.Module):
    """cuda-convnet's layers-19pct: three 5x5 convs with 3/2 pools, then one fully connected layer."""

    def __init__(
        self,
        activation: str = "relu",
        channels: tuple[int, ...] = (32, 32, 64),
        pools: tuple[str, ...] = ("max", "avg", "avg"),
        kernel_size: int = 5,
        num_classes: int = 10,
        lrn: bool = False,
        image_size: int = 32,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        act = nn.ReLU if activation == "relu" else nn.Tanh
        layers: list[nn.Module] = []
        c_in, size = 3, image_size
        for i, (c, pool) in enumerate(zip(channels, pools, strict=True)):
            layers.append(nn.Conv2d(c_in, c, kernel_size, padding=kernel_size // 2))
            # ceil_mode: cuda-convnet's pools round up, 32 -> 16 -> 8 -> 4.
            if pool == "max":
                # Activation after a max pool equals activation before it (both are monotone) on 4x fewer values.
                layers += [nn.MaxPool2d(3, 2, ceil_mode=True), act()]
            else:
                layers += [act(), nn.AvgPool2d(3, 2, ceil_mode=True)]
            if lrn and i < 2:
                # cuda-convnet's layers-18pct normalises over 9 neighbouring maps after the first two pools.
                layers.append(nn.LocalResponseNorm(size=9, alpha=0.001, beta=0.75, k=1.0))
            c_in, size = c, math.ceil((size - 3) / 2) + 1
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_in * size * size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))

    def named_weight_layers(self) -> list[tuple[str, nn.Module]]:
        """The weight layers in order with the names results files use: conv1, conv2, conv3, fc."""
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        return [(f"conv{i + 1}", m) for i, m in enumerate(convs)] + [("fc", self.classifier)]

    def init_weights_(self, scheme: str = "layers-19pct", scale: float = 1.0) -> FourLayerNet:
        """layers-19pct's initW (conv1 1e-4, the rest 1e-2, biases 0) times ``scale``; "normal-0.01": every
        weight N(0, 1e-2) times ``scale``, biases 0; "pytorch" keeps the library's default (times ``scale``)."""
        weights = [m for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        with torch.no_grad():
            for i, m in enumerate(weights):
                if scheme in ("layers-19pct", "normal-0.01"):
                    first = 1e-4 if scheme == "layers-19pct" else 1e-2
                    m.weight.normal_(0.0, (first if i == 0 else 1e-2) * scale)
                    m.bias.zero_()
                elif scale != 1.0:
                    m.weight.mul_(scale)
        return self


def build_model(config: ReluTanhConfig, activation: str, seed: int) -> FourLayerNet:
    torch.manual_seed(seed)
    model = FourLayerNet(activation, config.channels, config.pools, config.kernel_size, lrn=config.lrn)
    model.init_weights_(config.init, config.init_scale)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model
