"""Figure 1 of Krizhevsky, Sutskever & Hinton (2012), ReLU against tanh on CIFAR-10: the experiment's public API."""

from __future__ import annotations

from alexnet.lazy import exports_by_module, lazy_exports

# Public name -> the module that defines it. Names load on first use (PEP 562), so that importing
# the torch-free config and results modules (the command line's parser, the dashboard's reader)
# does not load torch through this package.
_EXPORTS = exports_by_module({
    "alexnet.relu_tanh.config": (
        "ACTIVATIONS", "KNOWN_CONDITIONS", "MEASURES", "RESULTS_DIR", "RESULTS_FORMAT", "SATURATED",
        "WHY_CONDITIONS", "WHY_DIR", "WHY_FULL_GRID", "WHY_SEEDS", "why_config", "Condition", "ReluTanhConfig",
        "condition",
    ),
    "alexnet.relu_tanh.network": ("FourLayerNet", "build_model"),
    "alexnet.relu_tanh.summaries": ("epochs_to_target",),
    "alexnet.relu_tanh.training": ("pick_threads",),
    "alexnet.relu_tanh.experiment": ("merge_units", "run_experiment"),
    "alexnet.relu_tanh.results": ("REQUIRED_KEYS", "load_results", "load_results_raw", "validate_results"),
})

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
