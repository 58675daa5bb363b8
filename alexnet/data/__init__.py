"""The paper's data pipeline: image folders, dataset statistics, augmentation presets and CIFAR-10."""

from alexnet.data.cifar10 import Cifar10, default_cifar10_root, load_cifar10
from alexnet.data.folders import (
    IMAGE_EXTENSIONS,
    ImageSet,
    StreamingImageFolder,
    class_names,
    decode_image_file,
    find_split,
    list_image_folder,
    load_image_folder,
)
from alexnet.data.presets import EvalPreset, TrainPreset
from alexnet.data.stats import DatasetStats, compute_stats, compute_stats_from_batches, dataset_stats
from alexnet.errors import DataError

__all__ = [
    "IMAGE_EXTENSIONS",
    "Cifar10",
    "DataError",
    "DatasetStats",
    "EvalPreset",
    "ImageSet",
    "StreamingImageFolder",
    "TrainPreset",
    "class_names",
    "compute_stats",
    "compute_stats_from_batches",
    "dataset_stats",
    "decode_image_file",
    "default_cifar10_root",
    "find_split",
    "list_image_folder",
    "load_cifar10",
    "load_image_folder",
]
