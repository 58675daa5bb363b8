"""The run folder: what ``alexnet train`` writes where, and reading it back (also for the dashboard).

A run lives in ``<runs_dir>/<name>/``::

    config.json            the TrainConfig (JSON)
    metrics.jsonl          one JSON object per completed epoch (appended)
    checkpoint.pt          last completed epoch: model, optimizer, scheduler, epoch,
                           metrics, train_config, data_stats, class_names (atomic writes)
    snapshots/epoch_NNN.pt conv layers only, fp16, on a sparse schedule (epoch 0 = init),
                           with epoch, config, train_config, data_stats, class_names

Each metrics record: ``epoch``; ``lr`` (the rate used during the epoch);
``train_loss``, ``train_top1_error`` (on the augmented batches, dropout on),
``train_images``, ``images_per_s`` (training only); ``val_top1_error``,
``val_top5_error``, ``val_images`` (centre crop); ``val_ten_crop_top1_error``,
``val_ten_crop_top5_error`` when the 10-crop test ran (last epoch, every
``ten_crop_every``); ``lr_dropped`` (the schedule divided the rate after this
epoch, so the next epoch's ``lr`` is lower); ``epoch_seconds``; ``time`` (UTC).
Errors are fractions in [0, 1].

Torch-free and free of other ``alexnet`` imports but ``alexnet.paths``, so the dashboard
and the command line read runs cheaply and ``alexnet.checkpoint`` can use the file names
without an import cycle.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alexnet.paths import runs_root

if TYPE_CHECKING:
    from alexnet.config import TrainConfig

METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"
SNAPSHOT_DIR = "snapshots"


def run_dir_for(config: TrainConfig) -> Path:
    """``<runs_dir>/<name>`` of ``config`` (runs_dir defaults to ``alexnet.paths.runs_root()``)."""
    return Path(config.runs_dir if config.runs_dir is not None else runs_root()) / config.name


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The epoch records of a run's ``metrics.jsonl`` (empty list when there is none).

    A torn last line (a run killed while appending) is skipped; a malformed line
    elsewhere raises ``ValueError`` naming the line.
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise ValueError(f"{path}: line {number} is not JSON") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}: line {number} is not a JSON object")
        records.append(record)
    return records


def list_snapshots(run_dir: str | os.PathLike) -> dict[int, Path]:
    """{epoch: path} of a run's conv-layer snapshots (``snapshots/epoch_NNN.pt``), by epoch."""
    folder = Path(run_dir) / SNAPSHOT_DIR
    found = {}
    for path in folder.glob("epoch_*.pt") if folder.is_dir() else ():
        digits = path.stem.removeprefix("epoch_")
        if digits.isdigit():
            found[int(digits)] = path
    return dict(sorted(found.items()))


def list_runs(runs_dir: str | os.PathLike | None = None) -> list[Path]:
    """Run folders under ``runs_dir`` (default ``alexnet.paths.runs_root()``), by name.

    A run folder is any subfolder holding a config, metrics or checkpoint file.
    """
    root = Path(runs_dir) if runs_dir is not None else runs_root()
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and any((p / f).is_file() for f in (CONFIG_FILE, METRICS_FILE, CHECKPOINT_FILE))
    )


def snapshot_path(run_dir: Path, epoch: int) -> Path:
    """Where the conv-layer snapshot taken after ``epoch`` goes (``snapshots/epoch_NNN.pt``)."""
    return run_dir / SNAPSHOT_DIR / f"epoch_{epoch:03d}.pt"


def append_line(path: Path, line: str) -> None:
    """Append ``line`` and a newline to ``path``, on disk (fsync) before returning."""
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
