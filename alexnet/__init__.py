"""AlexNet Explorer's core library: the paper's network, data pipeline and training recipe."""

from alexnet.checkpoint import (
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from alexnet.cifar10 import Cifar10, load_cifar10
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
from alexnet.relu_tanh import ReluTanhConfig, load_results, run_experiment
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
    "Cifar10",
    "DataError",
    "DatasetStats",
    "EvalPreset",
    "ImageSet",
    "LayerRow",
    "LocalResponseNorm",
    "ModelConfig",
    "PaperSGD",
    "PlateauSchedule",
    "ReluTanhConfig",
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
    "load_cifar10",
    "load_checkpoint",
    "load_image_folder",
    "load_results",
    "load_torchvision_alexnet",
    "make_optimizer",
    "model_from_checkpoint",
    "paper_init_",
    "read_metrics",
    "run_experiment",
    "save_checkpoint",
    "topk_errors",
    "train_one_epoch",
]
