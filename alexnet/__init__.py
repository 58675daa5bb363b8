"""AlexNet Explorer's core library: the paper's network, data pipeline and training recipe.

Names are imported on first use (PEP 562 ``__getattr__``), so ``import alexnet`` and the
``alexnet --help`` command line stay fast and torch is loaded only by code that needs it.
"""

from __future__ import annotations

from alexnet.lazy import lazy_exports

# Public name -> the module that defines it (the one place to look it up).
_EXPORTS: dict[str, str] = {
    "AlexNet": "alexnet.model",
    "ModelConfig": "alexnet.model",
    "paper_init_": "alexnet.model",
    "LocalResponseNorm": "alexnet.lrn",
    "LayerRow": "alexnet.summary",
    "format_summary": "alexnet.summary",
    "layer_summary": "alexnet.summary",
    "CheckpointError": "alexnet.errors",
    "DataError": "alexnet.errors",
    "TrainError": "alexnet.errors",
    "WeightsUnavailableError": "alexnet.errors",
    "load_checkpoint": "alexnet.checkpoint",
    "model_from_checkpoint": "alexnet.checkpoint",
    "save_checkpoint": "alexnet.checkpoint",
    "load_torchvision_alexnet": "alexnet.pretrained",
    "Cifar10": "alexnet.data.cifar10",
    "load_cifar10": "alexnet.data.cifar10",
    "DatasetStats": "alexnet.data",
    "EvalPreset": "alexnet.data",
    "ImageSet": "alexnet.data",
    "StreamingImageFolder": "alexnet.data",
    "TrainPreset": "alexnet.data",
    "class_names": "alexnet.data",
    "compute_stats": "alexnet.data",
    "dataset_stats": "alexnet.data",
    "decode_image_file": "alexnet.data",
    "find_split": "alexnet.data",
    "load_image_folder": "alexnet.data",
    "TrainConfig": "alexnet.config",
    "PaperSGD": "alexnet.optim",
    "PlateauSchedule": "alexnet.optim",
    "make_optimizer": "alexnet.optim",
    "evaluate": "alexnet.evaluate",
    "evaluate_checkpoint": "alexnet.evaluate",
    "fit": "alexnet.train",
    "list_runs": "alexnet.runs",
    "list_snapshots": "alexnet.runs",
    "read_metrics": "alexnet.runs",
    "topk_errors": "alexnet.metrics",
    "train_one_epoch": "alexnet.train",
    "ReluTanhConfig": "alexnet.relu_tanh",
    "load_results": "alexnet.relu_tanh",
    "run_experiment": "alexnet.relu_tanh",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
