"""Tensors in sharded safetensors files: no file over a size cap, one JSON index, no pickle anywhere.

safetensors (Hugging Face's format) stores raw tensors behind a JSON header, so reading a file
cannot run code, unlike a pickled ``torch.save`` checkpoint. The shards keep every file under
``max_bytes`` (16 MiB for the GPU machine's transfer limit and for git): a tensor larger than that
(fc6 of AlexNet is 38 MB in int8) is cut along its first dimension into parts named ``KEY@0``,
``KEY@1``, ... and joined again on reading. The index (``INDEX_FILE``) maps each key to its shard
and carries free-form JSON metadata (config, class names, provenance).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from alexnet.errors import CheckpointError

INDEX_FILE = "model.safetensors.index.json"
INDEX_FORMAT = "alexnet-explorer/shards/1"
MAX_SHARD_BYTES = 16 * 1024 * 1024 - 64 * 1024  # under 16 MiB including safetensors' JSON header


def _nbytes(t: Tensor) -> int:
    return t.numel() * t.element_size()


def _pieces(key: str, tensor: Tensor, max_bytes: int) -> list[tuple[str, Tensor]]:
    if _nbytes(tensor) <= max_bytes:
        return [(key, tensor)]
    row_bytes = max(1, _nbytes(tensor) // max(1, tensor.shape[0]))
    rows = max(1, max_bytes // row_bytes)
    return [(f"{key}@{i}", part.contiguous()) for i, part in enumerate(torch.split(tensor, rows, dim=0))]


def save_shards(
    tensors: dict[str, Tensor],
    folder: str | os.PathLike,
    *,
    prefix: str = "model",
    metadata: dict[str, Any] | None = None,
    max_bytes: int = MAX_SHARD_BYTES,
) -> list[Path]:
    """Write ``tensors`` as ``PREFIX-00001.safetensors``... plus the index; returns the files written.

    Each file is written to a temporary name and renamed, so an interrupted export leaves the old
    files whole; shards of an earlier export with the same prefix that are not rewritten are removed.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shards: list[dict[str, Tensor]] = [{}]
    for key, tensor in tensors.items():
        for part_key, part in _pieces(key, tensor.detach().cpu().contiguous(), max_bytes):
            if shards[-1] and sum(map(_nbytes, shards[-1].values())) + _nbytes(part) > max_bytes:
                shards.append({})
            shards[-1][part_key] = part
    written, weight_map = [], {}
    for i, shard in enumerate(shards, start=1):
        path = folder / f"{prefix}-{i:05d}-of-{len(shards):05d}.safetensors"
        tmp = path.with_name(f".{path.name}.tmp")
        save_file(shard, str(tmp))
        os.replace(tmp, path)
        written.append(path)
        weight_map.update({key: path.name for key in shard})
    index = {"format": INDEX_FORMAT, "metadata": metadata or {}, "weight_map": weight_map}
    index_path = folder / (INDEX_FILE if prefix == "model" else f"{prefix}.safetensors.index.json")
    tmp = index_path.with_name(f".{index_path.name}.tmp")
    tmp.write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, index_path)
    for stale in folder.glob(f"{prefix}-*.safetensors"):
        if stale not in written:
            stale.unlink()
    return [*written, index_path]


def load_shards(index_path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors and metadata of a sharded export, or ``CheckpointError`` with a one-line reason."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    index_path = Path(index_path)
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"weights index not found: {index_path}") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{index_path.name} is not a readable weights index ({exc})") from None
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT:
        raise CheckpointError(f"{index_path.name} is not an AlexNet Explorer weights index")
    parts: dict[str, Tensor] = {}
    for name in sorted(set(index["weight_map"].values())):
        try:
            parts.update(load_file(str(index_path.parent / name)))
        except (OSError, SafetensorError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"{name}: not a readable safetensors shard ({str(exc).splitlines()[0]})") from None
    missing = set(index["weight_map"]) - set(parts)
    if missing:
        raise CheckpointError(f"{index_path.name} names {len(missing)} tensors its shards lack, e.g. {min(missing)}")
    tensors: dict[str, Tensor] = {}
    pieces: dict[str, list[tuple[int, Tensor]]] = {}
    for key in index["weight_map"]:  # index order = the order written
        base, at, number = key.rpartition("@")
        if at and number.isdigit():
            pieces.setdefault(base, []).append((int(number), parts[key]))
            tensors.setdefault(base, None)  # keep the position
        else:
            tensors[key] = parts[key]
    for base, numbered in pieces.items():
        tensors[base] = torch.cat([t for _, t in sorted(numbered, key=lambda p: p[0])], dim=0)
    return tensors, index.get("metadata", {})


def shard_files(index_path: str | os.PathLike) -> list[Path]:
    """The shard files an index names (for size reports and packaging checks)."""
    index_path = Path(index_path)
    index = json.loads(index_path.read_text(encoding="utf-8"))
    return [index_path.parent / name for name in sorted(set(index["weight_map"].values()))]


__all__ = ["INDEX_FILE", "MAX_SHARD_BYTES", "load_shards", "save_shards", "shard_files"]
