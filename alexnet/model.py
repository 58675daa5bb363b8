"""The AlexNet of Krizhevsky, Sutskever and Hinton, NIPS 2012, as the paper describes it.

Reference: "ImageNet Classification with Deep Convolutional Neural Networks",
papers.nips.cc/paper/4824. The layer table, initialisation and LRN constants
follow ../shared/PAPER.md (the project's copy of the paper's facts).

Deliberate choices and deviations:
- Input is 3x227x227: the paper's "224" does not divide out to 55x55 after an
  11x11 stride-4 convolution without padding.
- ``towers=2`` expresses the two-GPU network as grouped convolutions on
  conv2, conv4 and conv5 (conv3 and the fully connected layers cross towers),
  and keeps each LRN window inside its tower. Channels ``[0, C/2)`` are tower 1.
- LRN uses alpha/n by default (cuda-convnet's convention); see ``alexnet.lrn``.
- ``lrn``, ``overlap_pool`` and ``activation`` switch on the paper's ablations
  (no LRN, 2/2 pooling, tanh) without a new class. They change no shapes.

Layer names are stable (``features.conv1`` ... ``classifier.fc8``) because the
dashboard and checkpoints address layers by name.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from alexnet.config_io import dataclass_from_dict
from alexnet.lrn import AlphaConvention, LocalResponseNorm

Activation = Literal["relu", "tanh"]

INPUT_SIZE = 227  # the size at which conv1's 11x11/4 gives the paper's 55x55
CONV_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
FC_LAYERS = ("fc6", "fc7", "fc8")
# Layers whose bias the paper sets to 1 "to accelerate the early stages of
# learning by providing the ReLUs with positive inputs"; all others get 0.
BIAS_ONE_LAYERS = ("conv2", "conv4", "conv5", "fc6", "fc7")
INIT_WEIGHT_STD = 0.01  # paper, section 5: "zero-mean Gaussian ... standard deviation 0.01"


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild an AlexNet; saved inside checkpoints."""

    num_classes: int = 1000  # ILSVRC
    towers: int = 1  # 2 = the paper's two-GPU connectivity (grouped conv2/4/5)
    lrn: bool = True  # paper: LRN after ReLU of conv1 and conv2 (-1.4% top-1)
    overlap_pool: bool = True  # paper: 3x3 stride 2 pooling (-0.4% top-1 vs 2x2/2)
    activation: Activation = "relu"  # paper's Figure 1 compares against tanh
    lrn_alpha_convention: AlphaConvention = "cuda-convnet"  # see alexnet.lrn
    dropout: float = 0.5  # paper: on the outputs of fc6 and fc7

    def __post_init__(self) -> None:
        if self.towers not in (1, 2):
            raise ValueError(f"towers must be 1 or 2, got {self.towers}")
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {self.activation!r}")
        if self.num_classes < 1:
            raise ValueError("num_classes must be positive")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Build from a saved dict, refusing keys this version does not know."""
        return dataclass_from_dict(cls, values, what="model config")


def _activation(kind: Activation) -> nn.Module:
    return nn.ReLU(inplace=True) if kind == "relu" else nn.Tanh()


class AlexNet(nn.Module):
    """The paper's AlexNet.

    Args:
        num_classes: outputs of fc8.
        towers: 1 for the single-tower network, 2 for the two-GPU form.
        lrn, overlap_pool, activation, lrn_alpha_convention, dropout: see ``ModelConfig``.
        init: apply the paper's initialisation (``paper_init_``).
    """

    def __init__(self, num_classes: int = 1000, towers: int = 1, *, init: bool = True, **options: Any):
        super().__init__()
        self.config = ModelConfig(num_classes=num_classes, towers=towers, **options)
        cfg = self.config
        g = cfg.towers

        def lrn() -> nn.Module:
            if not cfg.lrn:
                return nn.Identity()
            return LocalResponseNorm(alpha_convention=cfg.lrn_alpha_convention, groups=g)

        def pool() -> nn.Module:
            return nn.MaxPool2d(3, 2) if cfg.overlap_pool else nn.MaxPool2d(2, 2)

        act = cfg.activation
        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, 96, kernel_size=11, stride=4)),
            ("relu1", _activation(act)),
            ("lrn1", lrn()),
            ("pool1", pool()),
            ("conv2", nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=g)),
            ("relu2", _activation(act)),
            ("lrn2", lrn()),
            ("pool2", pool()),
            ("conv3", nn.Conv2d(256, 384, kernel_size=3, padding=1)),
            ("relu3", _activation(act)),
            ("conv4", nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=g)),
            ("relu4", _activation(act)),
            ("conv5", nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=g)),
            ("relu5", _activation(act)),
            ("pool5", pool()),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc6", nn.Linear(256 * 6 * 6, 4096)),
            ("relu6", _activation(act)),
            ("drop6", nn.Dropout(cfg.dropout)),
            ("fc7", nn.Linear(4096, 4096)),
            ("relu7", _activation(act)),
            ("drop7", nn.Dropout(cfg.dropout)),
            ("fc8", nn.Linear(4096, cfg.num_classes)),
        ]))
        if init:
            paper_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))

    def layer(self, name: str) -> nn.Module:
        """The layer called ``name`` (``"conv1"``, ``"lrn2"``, ``"fc8"`` ...)."""
        for block in (self.features, self.classifier):
            if name in block._modules:
                return block._modules[name]
        raise KeyError(f"no layer named {name!r}; layers: {', '.join(self.layer_names())}")

    def layer_names(self) -> list[str]:
        return [*self.features._modules, *self.classifier._modules]

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)


@torch.no_grad()
def paper_init_(model: AlexNet, positive_bias: float = 1.0) -> AlexNet:
    """Weights from N(0, 0.01); bias 1 on conv2, conv4, conv5, fc6, fc7, else 0 (in place).

    ``positive_bias`` replaces the paper's 1 on those five layers: Caffe's bvlc_alexnet
    used 0.1 because 1 gave a flat loss (PAPER.md); training exposes it as ``--init-bias``.
    """
    for name in CONV_LAYERS + FC_LAYERS:
        layer = model.layer(name)
        layer.weight.normal_(0.0, INIT_WEIGHT_STD)
        layer.bias.fill_(positive_bias if name in BIAS_ONE_LAYERS else 0.0)
    return model


def tower_of_channel(channel: int, channels: int, towers: int) -> int:
    """Tower index (0-based) of an output channel of a two-tower layer."""
    return channel * towers // channels
