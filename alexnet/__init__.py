"""AlexNet Explorer's core library: the paper's network, data pipeline and training recipe."""

from alexnet.checkpoint import (
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from alexnet.config import TrainConfig
from alexnet.data import (
    DataError,
    DatasetStats,
    EvalPreset,
    ImageSet,
    StreamingImageFolder,
    TrainPreset,
    class_names,
    compute_stats,
    dataset_stats,
    decode_image_file,
    find_split,
    load_image_folder,
)
from alexnet.lrn import LocalResponseNorm
from alexnet.model import AlexNet, ModelConfig, paper_init_
from alexnet.optim import PaperSGD, PlateauSchedule, make_optimizer
from alexnet.pretrained import WeightsUnavailableError, load_torchvision_alexnet
from alexnet.summary import LayerRow, format_summary, layer_summary
from alexnet.train import (
    TrainError,
    evaluate,
    evaluate_checkpoint,
    fit,
    list_runs,
    list_snapshots,
    read_metrics,
    topk_errors,
    train_one_epoch,
)

__all__ = [
    "AlexNet",
    "CheckpointError",
    "DataError",
    "DatasetStats",
    "EvalPreset",
    "ImageSet",
    "LayerRow",
    "LocalResponseNorm",
    "ModelConfig",
    "PaperSGD",
    "PlateauSchedule",
    "StreamingImageFolder",
    "TrainConfig",
    "TrainError",
    "TrainPreset",
    "WeightsUnavailableError",
    "class_names",
    "compute_stats",
    "dataset_stats",
    "decode_image_file",
    "evaluate",
    "evaluate_checkpoint",
    "find_split",
    "fit",
    "format_summary",
    "layer_summary",
    "list_runs",
    "list_snapshots",
    "load_checkpoint",
    "load_image_folder",
    "load_torchvision_alexnet",
    "make_optimizer",
    "model_from_checkpoint",
    "paper_init_",
    "read_metrics",
    "save_checkpoint",
    "topk_errors",
    "train_one_epoch",
]
