"""AlexNet Explorer's core library: the paper's network, data pipeline and training recipe.

Names are imported on first use (PEP 562 ``__getattr__``), so ``import alexnet`` and the
``alexnet --help`` command line stay fast and torch is loaded only by code that needs it.
"""

from __future__ import annotations

from alexnet.lazy import exports_by_module, lazy_exports

# Public name -> the module that defines it (the one place to look it up).
_EXPORTS = exports_by_module({
    "alexnet.model": ("AlexNet", "ModelConfig", "paper_init_"),
    "alexnet.lrn": ("LocalResponseNorm",),
    "alexnet.summary": ("LayerRow", "format_summary", "layer_summary"),
    "alexnet.errors": ("CheckpointError", "DataError", "TrainError", "WeightsUnavailableError"),
    "alexnet.checkpoint": ("load_checkpoint", "model_from_checkpoint", "save_checkpoint"),
    "alexnet.pretrained": ("load_torchvision_alexnet",),
    "alexnet.data.cifar10": ("Cifar10", "load_cifar10"),
    "alexnet.data": (
        "DatasetStats", "EvalPreset", "ImageSet", "StreamingImageFolder", "TrainPreset", "class_names",
        "compute_stats", "dataset_stats", "decode_image_file", "find_split", "load_image_folder",
    ),
    "alexnet.config": ("TrainConfig",),
    "alexnet.optim": ("PaperSGD", "PlateauSchedule", "make_optimizer"),
    "alexnet.evaluate": ("evaluate", "evaluate_checkpoint"),
    "alexnet.train": ("fit", "train_one_epoch"),
    "alexnet.runs": ("list_runs", "list_snapshots", "read_metrics"),
    "alexnet.metrics": ("topk_errors",),
    "alexnet.relu_tanh": ("ReluTanhConfig", "load_results", "run_experiment"),
    "alexnet.reference": ("load_reference_model",),
    "alexnet.predict": ("Classifier", "load_classifier", "predict_files"),
    "alexnet.neighbours": ("nearest", "training_features"),
})

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
