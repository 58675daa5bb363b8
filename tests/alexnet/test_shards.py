"""alexnet.shards: sharded safetensors round-trip, size cap, and one-line errors for broken files."""

from __future__ import annotations

import json

import pytest
import torch

from alexnet.errors import CheckpointError
from alexnet.shards import INDEX_FILE, load_shards, save_shards, shard_files


def test_round_trip_splits_large_tensors_and_keeps_every_file_under_the_cap(tmp_path):
    big = torch.arange(10_000, dtype=torch.int16).reshape(100, 100)  # 20,000 bytes
    small = torch.randn(7)
    cap = 6_000
    files = save_shards({"big": big, "small": small}, tmp_path, metadata={"k": [1, 2]}, max_bytes=cap)
    shards = [f for f in files if f.suffix == ".safetensors"]
    assert len(shards) >= 4
    # safetensors adds a small JSON header to each file on top of the tensor bytes.
    assert all(f.stat().st_size <= cap + 1024 for f in shards)
    tensors, metadata = load_shards(tmp_path / INDEX_FILE)
    assert list(tensors) == ["big", "small"]
    assert torch.equal(tensors["big"], big) and torch.equal(tensors["small"], small)
    assert metadata == {"k": [1, 2]}
    assert sorted(shard_files(tmp_path / INDEX_FILE)) == sorted(shards)


def test_a_second_export_removes_shards_the_first_left(tmp_path):
    save_shards({"x": torch.zeros(4000)}, tmp_path, max_bytes=4_000)
    save_shards({"x": torch.zeros(10)}, tmp_path, max_bytes=4_000)
    assert len(list(tmp_path.glob("model-*.safetensors"))) == 1


def test_broken_or_foreign_files_raise_one_line_checkpoint_errors(tmp_path):
    save_shards({"x": torch.ones(3)}, tmp_path)
    shard = next(tmp_path.glob("model-*.safetensors"))
    shard.write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="not a readable safetensors shard") as info:
        load_shards(tmp_path / INDEX_FILE)
    assert "\n" not in str(info.value)
    (tmp_path / INDEX_FILE).write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match="not an AlexNet Explorer weights index"):
        load_shards(tmp_path / INDEX_FILE)
    with pytest.raises(CheckpointError, match="not found"):
        load_shards(tmp_path / "missing" / INDEX_FILE)
