"""The reference AlexNet that ships inside the package (alexnet/assets/reference/), all eight layers.

``scripts/export_reference.py`` writes it from a run of ``alexnet train`` (the paper's two-tower
network on Imagenette). Everything is safetensors, so loading it runs no pickle at all:

    model-0000K-of-0000N.safetensors + model.safetensors.index.json
                        the whole network: conv layers in fp16, the fully connected layers in the
                        scheme the export measured as smallest within 0.5 points of fp32's top-1
                        error (``alexnet.quantize``), the dataset statistics (mean image, RGB PCA);
                        the index's metadata holds the config, class folders/names and the epoch.
    snapshots-...safetensors + snapshots.safetensors.index.json
                        conv1 after every epoch (``epoch_NNN.features.conv1.weight``/``.bias``),
                        70 KB each in fp16, for the Training page's slider.
    metrics.jsonl       the run's per-epoch metrics (same format as a run folder's).
    provenance.json     command, commit, data, device, times, errors, kernel scores, size table.

No file is over 16 MiB (git, the GPU machine's transfer limit). ``REFERENCE_DIR`` resolves inside
the installed package, so a wheel install finds it as a checkout does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import Tensor

from alexnet.checkpoint import FORMAT, model_from_checkpoint
from alexnet.errors import CheckpointError
from alexnet.model import AlexNet
from alexnet.quantize import compress_state_dict, decompress_state_dict
from alexnet.shards import INDEX_FILE, load_shards, save_shards

REFERENCE_DIR = Path(__file__).resolve().parent / "assets" / "reference"
WEIGHTS_INDEX = INDEX_FILE
SNAPSHOTS_PREFIX = "snapshots"
SNAPSHOTS_INDEX = f"{SNAPSHOTS_PREFIX}.safetensors.index.json"
PROVENANCE_FILE = "provenance.json"
METRICS_FILE = "metrics.jsonl"
STATS_PREFIX = "data_stats."  # tensors of the DatasetStats saved beside the weights
SNAPSHOT_LAYERS = ("features.conv1.weight", "features.conv1.bias")


def reference_available(directory: Path = REFERENCE_DIR) -> bool:
    return (Path(directory) / WEIGHTS_INDEX).is_file()


def fc_scheme_for(fc_scheme: str):
    """The per-tensor scheme of an export: fc weights in ``fc_scheme``, conv weights fp16, the rest fp32."""

    def scheme(name: str, tensor: Tensor) -> str:
        if name.startswith("classifier.") and name.endswith(".weight"):
            return fc_scheme
        if name.startswith("features.") and name.endswith(".weight"):
            return "fp16"
        return "fp32"

    return scheme


def checkpoint_from_tensors(tensors: dict[str, Tensor], metadata: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint dict (as ``alexnet.checkpoint.load_checkpoint`` returns) an export's tensors make."""
    state = decompress_state_dict({k: v for k, v in tensors.items() if not k.startswith(STATS_PREFIX)})
    stats = {k[len(STATS_PREFIX):]: v.float() for k, v in tensors.items() if k.startswith(STATS_PREFIX)}
    checkpoint = {"format": FORMAT, "model": state, **{k: metadata[k] for k in metadata if k != "format"}}
    if stats:
        checkpoint["data_stats"] = stats
    return checkpoint


def load_reference_checkpoint(directory: Path = REFERENCE_DIR) -> dict[str, Any]:
    """The bundled model as a checkpoint dict (float32 weights, config, data_stats, classes, epoch)."""
    directory = Path(directory)
    if not reference_available(directory):
        raise CheckpointError(f"no bundled reference model in {directory} (expected {WEIGHTS_INDEX})")
    tensors, metadata = load_shards(directory / WEIGHTS_INDEX)
    return checkpoint_from_tensors(tensors, metadata)


def load_reference_model(directory: Path = REFERENCE_DIR) -> AlexNet:
    """The bundled AlexNet, all layers trained, in eval mode."""
    return model_from_checkpoint(load_reference_checkpoint(directory))


def reference_provenance(directory: Path = REFERENCE_DIR) -> dict[str, Any]:
    return json.loads((Path(directory) / PROVENANCE_FILE).read_text(encoding="utf-8"))


def reference_snapshots(directory: Path = REFERENCE_DIR) -> dict[int, dict[str, Tensor]]:
    """conv1's weight and bias (float32) after each shipped epoch: {epoch: {name: tensor}}."""
    path = Path(directory) / SNAPSHOTS_INDEX
    if not path.is_file():
        return {}
    tensors, _ = load_shards(path)
    by_epoch: dict[int, dict[str, Tensor]] = {}
    for key, value in tensors.items():
        epoch, _, name = key.partition(".")
        by_epoch.setdefault(int(epoch.removeprefix("epoch_")), {})[name] = value.float()
    return dict(sorted(by_epoch.items()))


def export_tensors(checkpoint: dict[str, Any], fc_scheme: str) -> dict[str, Tensor]:
    """The tensors an export of ``checkpoint`` stores, fc weights compressed with ``fc_scheme``."""
    tensors = compress_state_dict(checkpoint["model"], fc_scheme_for(fc_scheme))
    for name, value in (checkpoint.get("data_stats") or {}).items():
        tensors[STATS_PREFIX + name] = value.float().contiguous()
    return tensors


def export_metadata(checkpoint: dict[str, Any], fc_scheme: str) -> dict[str, Any]:
    keep = ("config", "classes", "class_names", "epoch")
    return {**{k: checkpoint[k] for k in keep if k in checkpoint}, "fc_scheme": fc_scheme}


def export_reference(
    checkpoint: dict[str, Any],
    snapshots: dict[int, dict[str, Tensor]],
    metrics_text: str,
    provenance: dict[str, Any],
    *,
    fc_scheme: str,
    directory: Path = REFERENCE_DIR,
) -> Path:
    """Write ``checkpoint`` (a full training checkpoint dict) as the bundled reference model.

    ``snapshots`` maps epochs to state dicts holding at least ``SNAPSHOT_LAYERS``; only those
    layers ship, in fp16. Files of an earlier export that this one does not rewrite are removed
    (old ``*.pt`` files included), so the folder always matches its provenance.
    """
    from alexnet.checkpoint import atomic_write_text

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_shards(export_tensors(checkpoint, fc_scheme), directory,
                metadata=export_metadata(checkpoint, fc_scheme))
    snapshot_tensors = {
        f"epoch_{epoch:03d}.{name}": state[name].detach().half().contiguous()
        for epoch, state in sorted(snapshots.items())
        for name in SNAPSHOT_LAYERS
    }
    save_shards(snapshot_tensors, directory, prefix=SNAPSHOTS_PREFIX)
    atomic_write_text(metrics_text, directory / METRICS_FILE)
    atomic_write_text(json.dumps(provenance, indent=2) + "\n", directory / PROVENANCE_FILE)
    for stale in [*directory.glob("*.pt"), *directory.glob("snapshots/*.pt")]:
        stale.unlink()
    if (directory / "snapshots").is_dir() and not any((directory / "snapshots").iterdir()):
        (directory / "snapshots").rmdir()
    return directory


def model_bytes(directory: Path = REFERENCE_DIR) -> int:
    """Bytes on disk of the bundled model's weight shards (the size table's number)."""
    from alexnet.shards import shard_files

    return sum(p.stat().st_size for p in shard_files(Path(directory) / WEIGHTS_INDEX))


__all__ = [
    "REFERENCE_DIR",
    "checkpoint_from_tensors",
    "export_reference",
    "export_tensors",
    "load_reference_checkpoint",
    "load_reference_model",
    "model_bytes",
    "reference_available",
    "reference_provenance",
    "reference_snapshots",
]

