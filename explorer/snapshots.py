"""conv1 after each saved epoch, from a run folder (``.pt`` snapshots) or the bundled reference (safetensors).

A run of ``alexnet train`` snapshots the whole conv stack at chosen epochs (``snapshots/epoch_NNN.pt``);
the bundled reference ships conv1 alone for every epoch (70 KB each, ``alexnet.reference``). The
Training page's slider works on either through ``saved_epochs`` and ``conv1_at``; only a run's full
snapshots can also show activations (``full_snapshot``).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np

from alexnet.checkpoint import load_checkpoint
from alexnet.errors import CheckpointError
from alexnet.runs import list_snapshots

CONV1 = "features.conv1.weight"


def _is_reference(folder: Path) -> bool:
    from alexnet.reference import SNAPSHOTS_INDEX

    return (folder / SNAPSHOTS_INDEX).is_file()


@functools.lru_cache(maxsize=4)
def _reference(folder: Path, stamp: int) -> tuple[dict[int, np.ndarray], int]:
    # ``stamp`` (the index's mtime) is in the key so that a new export is read again.
    from alexnet.reference import WEIGHTS_INDEX, reference_snapshots

    towers = 1
    if (folder / WEIGHTS_INDEX).is_file():
        metadata = json.loads((folder / WEIGHTS_INDEX).read_text(encoding="utf-8")).get("metadata", {})
        towers = int(metadata.get("config", {}).get("towers", 1))
    return {e: s[CONV1].numpy() for e, s in reference_snapshots(folder).items()}, towers


def _reference_data(folder: Path) -> tuple[dict[int, np.ndarray], int]:
    from alexnet.reference import SNAPSHOTS_INDEX

    return _reference(folder, (folder / SNAPSHOTS_INDEX).stat().st_mtime_ns)


def saved_epochs(folder: str | os.PathLike) -> list[int]:
    """Epochs whose conv1 the folder holds, ascending (0 = the initial weights)."""
    folder = Path(folder)
    if _is_reference(folder):
        return sorted(_reference_data(folder)[0])
    return sorted(list_snapshots(folder))


def conv1_at(folder: str | os.PathLike, epoch: int) -> tuple[np.ndarray, int]:
    """conv1's weights (96, 3, 11, 11) float32 after ``epoch`` and the network's tower count."""
    folder = Path(folder)
    if _is_reference(folder):
        weights, towers = _reference_data(folder)
        if epoch not in weights:
            raise CheckpointError(f"the bundled reference ships no conv1 for epoch {epoch}")
        return weights[epoch].astype(np.float32), towers
    checkpoint = load_checkpoint(full_snapshot(folder, epoch))
    if CONV1 not in checkpoint["model"]:
        raise CheckpointError(f"the snapshot of epoch {epoch} holds no conv1 weights")
    towers = int((checkpoint.get("config") or {}).get("towers", 1))
    return checkpoint["model"][CONV1].float().numpy(), towers


def full_snapshot(folder: str | os.PathLike, epoch: int) -> Path | None:
    """A run's snapshot file of the whole conv stack at ``epoch``; None for the bundled reference."""
    folder = Path(folder)
    if _is_reference(folder):
        return None
    snapshots = list_snapshots(folder)
    if epoch not in snapshots:
        raise CheckpointError(f"{folder.name} saved no snapshot after epoch {epoch}")
    return snapshots[epoch]


__all__ = ["conv1_at", "full_snapshot", "saved_epochs"]
