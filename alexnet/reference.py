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


def _conv_only_fp16(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``checkpoint`` keeping only the conv layers' weights, in fp16, and what explains them."""
    keep = ("format", "config", "epoch", "data_stats", "class_names")
    small = {k: checkpoint[k] for k in keep if k in checkpoint}
    small["model"] = {
        k: v.half() if v.is_floating_point() else v
        for k, v in checkpoint["model"].items()
        if k.startswith("features.")
    }
    if "data_stats" in small:
        small["data_stats"] = {k: v.float() for k, v in small["data_stats"].items()}
    return small


def export_reference(
    run_dir: Path,
    provenance: dict[str, Any],
    *,
    snapshot_epochs: list[int] | None = None,
    directory: Path = REFERENCE_DIR,
) -> Path:
    """Copy a finished run into the package as the bundled reference model.

    Writes the final checkpoint's conv weights (fp16), metrics.jsonl, the conv
    snapshots of ``snapshot_epochs`` (default: all the run kept) and ``provenance``
    as provenance.json. Everything is small enough for git (~5 MB per snapshot). Snapshots
    of an earlier export that are not among these are removed, so the folder matches provenance.
    """
    from alexnet.checkpoint import atomic_save, atomic_write_text

    run_dir = Path(run_dir)
    final = load_checkpoint(run_dir / "checkpoint.pt")
    directory.mkdir(parents=True, exist_ok=True)
    atomic_save(_conv_only_fp16(final), directory / WEIGHTS_FILE)
    atomic_write_text((run_dir / "metrics.jsonl").read_text(encoding="utf-8"), directory / "metrics.jsonl")
    snapshots = sorted((run_dir / "snapshots").glob("epoch_*.pt"))
    (directory / "snapshots").mkdir(exist_ok=True)
    shipped = set()
    for path in snapshots:
        epoch = int(path.stem.split("_")[1])
        if snapshot_epochs is None or epoch in snapshot_epochs:
            atomic_save(_conv_only_fp16(load_checkpoint(path)), directory / "snapshots" / path.name)
            shipped.add(path.name)
    for stale in (directory / "snapshots").glob("epoch_*.pt"):
        if stale.name not in shipped:
            stale.unlink()
    atomic_write_text(json.dumps(provenance, indent=2) + "\n", directory / PROVENANCE_FILE)
    return directory
