"""Shared fixtures. Real-data tests use ../shared/data (or $ALEXNET_DATA_ROOT) and skip, saying so, without it."""

from __future__ import annotations

import pytest
import torch

from alexnet.paths import data_root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Caches written by tests go to one temporary folder per session, never to ~/.cache.
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def shared_data():
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"real data not found at {root} (set ALEXNET_DATA_ROOT); skipping real-data test")
    return root
