"""Figure 1 of Krizhevsky, Sutskever & Hinton (2012), ReLU against tanh on CIFAR-10: the experiment's public API."""

from __future__ import annotations

from alexnet.lazy import lazy_exports

# Public name -> the module that defines it. Names load on first use (PEP 562), so that importing
# the torch-free config and results modules (the command line's parser, the dashboard's reader)
# does not load torch through this package.
_EXPORTS: dict[str, str] = {
    "ACTIVATIONS": "alexnet.relu_tanh.config",
    "KNOWN_CONDITIONS": "alexnet.relu_tanh.config",
    "MEASURES": "alexnet.relu_tanh.config",
    "RESULTS_DIR": "alexnet.relu_tanh.config",
    "RESULTS_FORMAT": "alexnet.relu_tanh.config",
    "Condition": "alexnet.relu_tanh.config",
    "ReluTanhConfig": "alexnet.relu_tanh.config",
    "condition": "alexnet.relu_tanh.config",
    "FourLayerNet": "alexnet.relu_tanh.network",
    "build_model": "alexnet.relu_tanh.network",
    "epochs_to_target": "alexnet.relu_tanh.training",
    "pick_threads": "alexnet.relu_tanh.training",
    "merge_units": "alexnet.relu_tanh.experiment",
    "run_experiment": "alexnet.relu_tanh.experiment",
    "REQUIRED_KEYS": "alexnet.relu_tanh.results",
    "load_results": "alexnet.relu_tanh.results",
    "load_results_raw": "alexnet.relu_tanh.results",
    "validate_results": "alexnet.relu_tanh.results",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
