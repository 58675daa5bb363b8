"""The Figure 1 results file (results.json): reading, checking, writing, and the provenance it records; no torch.

Reading needs no torch, so the dashboard and ``explorer.figure1`` can load and check a results
file without the training code.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from alexnet.errors import DataError
from alexnet.relu_tanh.config import RESULTS_DIR, RESULTS_FORMAT

REQUIRED_KEYS = ("format", "config", "runs", "chosen_lr", "sweep", "ratio", "error_measure")


def load_results(path: str | os.PathLike = RESULTS_DIR / "results.json") -> dict:
    """The results JSON, checked; ``DataError`` with a one-line reason if it is missing or unusable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no Figure 1 results at {path} (run `alexnet relu-tanh` to make them)")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from None
    validate_results(results, str(path))
    return results


def load_results_raw(path: Path) -> dict:
    """A results file as written, partial ones included (no check beyond valid JSON)."""
    if not path.is_file():
        raise DataError(f"no results file at {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from None


def validate_results(results: Any, where: str = "results") -> None:
    """``DataError`` unless ``results`` is a Figure 1 results dict whose runs carry their error curves."""
    if not isinstance(results, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(results).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in results]
    if missing:
        raise DataError(f"{where} is not a Figure 1 results file: missing {', '.join(missing)}")
    if results["format"] != RESULTS_FORMAT:
        raise DataError(f"{where}: unknown format {results['format']!r} (expected {RESULTS_FORMAT!r})")
    for r in results["runs"]:
        if not {"activation", "seed", "running_error", "train_error"} <= set(r):
            raise DataError(f"{where}: a run lacks activation/seed/error curves")


def write_results(results: dict, path: Path) -> Path:
    """``results`` as indented JSON at ``path``, atomically (a reader never sees half a file)."""
    # Imported here: alexnet.checkpoint loads torch, which reading a results file does not need.
    from alexnet.checkpoint import atomic_write_text

    return atomic_write_text(json.dumps(results, indent=1), path)


def images_per_s(done: dict, n_train: int) -> float | None:
    """Median training throughput over the final runs' epochs (epoch seconds include the post-epoch pass)."""
    rates = [n_train / s for k, c in done.items() if "|run|" in k for s in c["seconds"] if s > 0]
    return round(sorted(rates)[len(rates) // 2], 1) if rates else None


def device_description() -> str:
    """The CPU's model name and logical core count, recorded with every results file."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    return f"CPU: {cpu}, {os.cpu_count()} logical cores ({platform.system()})"
