"""The reference model that ships with the package (alexnet/assets/reference/).

Issue 5 trains the paper's two-tower AlexNet on Imagenette with `alexnet train`
and exports a small copy here: the conv layers' weights in fp16 (the fully
connected layers are ~58M parameters, too large for git), the dataset
statistics the model was trained with, its metrics.jsonl, conv snapshots from
a handful of epochs, and provenance.json (command, commit, data, device,
wall time, validation errors). The folder is laid out like a run folder, so
the dashboard's Training page reads it with the same code as ``runs/<name>``.

Until that folder exists, ``reference_available()`` is False and callers fall
back to the freshly initialised paper model (and must say so).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alexnet.checkpoint import load_checkpoint, model_from_checkpoint
from alexnet.model import AlexNet

REFERENCE_DIR = Path(__file__).resolve().parent / "assets" / "reference"
WEIGHTS_FILE = "conv_weights.pt"  # checkpoint dict: conv-only fp16 state dict, config, data_stats, class_names
PROVENANCE_FILE = "provenance.json"


def reference_available(directory: Path = REFERENCE_DIR) -> bool:
    return (directory / WEIGHTS_FILE).is_file()


def load_reference_checkpoint(directory: Path = REFERENCE_DIR) -> dict[str, Any]:
    """The bundled checkpoint dict (conv weights only), read with weights_only=True."""
    return load_checkpoint(directory / WEIGHTS_FILE)


def load_reference_model(directory: Path = REFERENCE_DIR) -> AlexNet:
    """The bundled AlexNet in eval mode; its fc layers keep the paper initialisation (untrained)."""
    return model_from_checkpoint(load_reference_checkpoint(directory), strict=False)


def reference_provenance(directory: Path = REFERENCE_DIR) -> dict[str, Any]:
    return json.loads((directory / PROVENANCE_FILE).read_text(encoding="utf-8"))
