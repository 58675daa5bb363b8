"""Default locations, each overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """Folder holding cifar10/, imagenette/, gallery/: $ALEXNET_DATA_ROOT or ../shared/data beside the repo."""
    env = os.environ.get("ALEXNET_DATA_ROOT")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def cache_dir() -> Path:
    """Where decoded datasets and statistics are cached: $ALEXNET_CACHE_DIR or ~/.cache/alexnet-explorer."""
    env = os.environ.get("ALEXNET_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "alexnet-explorer"


def runs_root() -> Path:
    """Where training runs are written: $ALEXNET_RUNS_DIR or ./runs."""
    return Path(os.environ.get("ALEXNET_RUNS_DIR", "runs"))
