"""AlexNet Explorer's core library: the paper's network, data pipeline and training recipe."""

from alexnet.checkpoint import (
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from alexnet.lrn import LocalResponseNorm
from alexnet.model import AlexNet, ModelConfig, paper_init_
from alexnet.pretrained import WeightsUnavailableError, load_torchvision_alexnet
from alexnet.summary import LayerRow, format_summary, layer_summary

__all__ = [
    "AlexNet",
    "CheckpointError",
    "LayerRow",
    "LocalResponseNorm",
    "ModelConfig",
    "WeightsUnavailableError",
    "format_summary",
    "layer_summary",
    "load_checkpoint",
    "load_torchvision_alexnet",
    "model_from_checkpoint",
    "paper_init_",
    "save_checkpoint",
]
