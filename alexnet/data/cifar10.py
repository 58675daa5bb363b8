"""CIFAR-10 as in-memory uint8 tensors, from the offline WebP sheets or a torchvision root.

Two sources give the same result (images ``(N, 3, 32, 32)`` uint8 RGB, labels
int64 in torchvision's class order, training set in the original
data_batch_1..5 order):

* the offline copy under ``data_root()/cifar10`` (see PROVENANCE.txt there):
  ``train_1.webp .. train_5.webp`` and ``test.webp`` are lossless WebP sheets of
  10,000 tiles of 32x32 (100 per row, row-major), ``labels.npz`` holds uint8
  ``train``/``test`` labels, ``classes.txt`` the class names. Decoding takes a
  few seconds, so the tensors are cached under ``cache_dir()``, keyed by each
  source file's name, size and modification time: a changed source is decoded
  again.
* a torchvision CIFAR-10 root (the folder holding ``cifar-10-batches-py/``),
  which ``torchvision.datasets.CIFAR10(root, download=True)`` fills when online.
  The batches are read here with a restricted unpickler that only builds numpy
  arrays (torchvision's own loader calls plain ``pickle.load``, which would run
  whatever a tampered file asks for).

The CIFAR-10 data set: A. Krizhevsky (2009), "Learning Multiple Layers of
Features from Tiny Images"; the AlexNet paper's Figure 1 trains on it.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from alexnet.checkpoint import atomic_save
from alexnet.errors import DataError
from alexnet.paths import cache_dir, data_root

SHEET_FILES = ("train_1.webp", "train_2.webp", "train_3.webp", "train_4.webp", "train_5.webp", "test.webp")
TORCHVISION_FOLDER = "cifar-10-batches-py"
TORCHVISION_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
TORCHVISION_TEST = "test_batch"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TILE = 32
TILES_PER_ROW = 100
CACHE_FORMAT = "cifar10-uint8/1"

__all__ = ["CLASSES", "Cifar10", "default_cifar10_root", "load_cifar10"]


@dataclass(frozen=True)
class Cifar10:
    """CIFAR-10 in memory: uint8 images ``(N, 3, 32, 32)`` RGB and int64 labels."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    source: str

    def subset(self, train: int | None, test: int | None = None, seed: int = 0) -> Cifar10:
        """A class-mixed random subset (first ``train``/``test`` of a fixed permutation); ``None`` keeps all."""
        g = torch.Generator().manual_seed(seed)
        tr = torch.randperm(len(self.train_labels), generator=g)[: train if train is not None else None]
        te = torch.randperm(len(self.test_labels), generator=g)[: test if test is not None else None]
        return Cifar10(
            self.train_images[tr], self.train_labels[tr], self.test_images[te], self.test_labels[te],
            self.classes, f"{self.source} (subset {len(tr)}/{len(te)}, seed {seed})",
        )


def default_cifar10_root() -> Path:
    """``data_root()/cifar10``: the offline WebP copy."""
    return data_root() / "cifar10"


def load_cifar10(root: str | os.PathLike | None = None, *, download: bool = False, use_cache: bool = True) -> Cifar10:
    """Load CIFAR-10 from ``root`` (default ``default_cifar10_root()``), whichever of the two layouts it holds.

    ``download=True`` lets torchvision fetch the official archive into ``root`` when
    it holds neither layout (needs internet). Raises ``DataError`` with a one-line
    reason for a missing or unusable folder.
    """
    root = Path(root) if root is not None else default_cifar10_root()
    if (root / SHEET_FILES[0]).is_file() or (root / "labels.npz").is_file():
        return _load_sheets(root, use_cache=use_cache)
    tv_dir = root if root.name == TORCHVISION_FOLDER else root / TORCHVISION_FOLDER
    if tv_dir.is_dir():
        return _load_torchvision_batches(tv_dir)
    if download:
        _torchvision_download(root)
        return _load_torchvision_batches(root / TORCHVISION_FOLDER)
    if not root.exists():
        raise DataError(f"CIFAR-10 folder not found: {root} (set ALEXNET_DATA_ROOT, pass a path, or use download)")
    raise DataError(
        f"{root} holds no CIFAR-10: expected the WebP sheets ({', '.join(SHEET_FILES)}, labels.npz) "
        f"or a torchvision root with {TORCHVISION_FOLDER}/ (or allow download)"
    )


# --- the offline WebP sheets ------------------------------------------------------------------------------


def _source_key(root: Path, names: tuple[str, ...]) -> str:
    # Name, size and mtime of every source file: cheap to compute, and any re-export changes it.
    h = hashlib.sha256(CACHE_FORMAT.encode())
    for name in names:
        st = (root / name).stat()
        h.update(f"{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def _load_sheets(root: Path, *, use_cache: bool) -> Cifar10:
    names = (*SHEET_FILES, "labels.npz", "classes.txt")
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise DataError(f"CIFAR-10 folder {root} is incomplete: missing {', '.join(missing)}")
    key = _source_key(root, names)
    cache_file = cache_dir() / "cifar10" / f"cifar10-{key}.pt"
    if use_cache and cache_file.is_file():
        try:
            blob = torch.load(cache_file, map_location="cpu", weights_only=True)
            if blob.get("format") == CACHE_FORMAT:
                return Cifar10(
                    blob["train_images"], blob["train_labels"], blob["test_images"], blob["test_labels"],
                    tuple(blob["classes"]), str(root),
                )
        except Exception:  # noqa: BLE001 - a damaged cache is simply rebuilt from the source
            pass
    classes = tuple(line.strip() for line in (root / "classes.txt").read_text().splitlines() if line.strip())
    if len(classes) != 10:
        raise DataError(f"{root / 'classes.txt'} lists {len(classes)} classes, expected 10")
    try:
        labels = np.load(root / "labels.npz")
        train_labels, test_labels = labels["train"], labels["test"]
    except Exception as exc:  # noqa: BLE001 - any unreadable npz is the same user error
        raise DataError(f"cannot read {root / 'labels.npz'}: {exc}") from None
    train = torch.cat([_decode_sheet(root / n) for n in SHEET_FILES[:5]])
    test = _decode_sheet(root / SHEET_FILES[5])
    if len(train_labels) != len(train) or len(test_labels) != len(test):
        raise DataError(
            f"{root}: {len(train)}/{len(test)} images but {len(train_labels)}/{len(test_labels)} labels (train/test)"
        )
    data = Cifar10(
        train, torch.from_numpy(train_labels.astype(np.int64)), test, torch.from_numpy(test_labels.astype(np.int64)),
        classes, str(root),
    )
    if use_cache:
        blob = {
            "format": CACHE_FORMAT, "classes": list(classes), "train_images": data.train_images,
            "train_labels": data.train_labels, "test_images": data.test_images, "test_labels": data.test_labels,
        }
        try:
            atomic_save(blob, cache_file)
        except OSError:  # a read-only cache folder costs a re-decode next time, nothing more
            pass
    return data


def _decode_sheet(path: Path) -> torch.Tensor:
    """One WebP sheet -> uint8 ``(n, 3, 32, 32)``; the tiling is described in the module docstring."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGB"))
    except Exception as exc:  # noqa: BLE001 - PIL raises several types for a bad file
        raise DataError(f"cannot decode {path}: {exc}") from None
    h, w, _ = a.shape
    if h % TILE or w % TILE:
        raise DataError(f"{path} is {w}x{h} pixels, not a sheet of {TILE}x{TILE} tiles")
    rows, cols = h // TILE, w // TILE
    tiles = a.reshape(rows, TILE, cols, TILE, 3).transpose(0, 2, 4, 1, 3).reshape(rows * cols, 3, TILE, TILE)
    return torch.from_numpy(np.ascontiguousarray(tiles))


# --- a torchvision root -----------------------------------------------------------------------------------


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Builds the dicts, lists, bytes and numpy arrays of a CIFAR batch file, and nothing else."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 pickles (protocol 2) store bytes; turns a str into bytes, nothing more
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to build {module}.{name}")


def _read_batch(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"torchvision CIFAR-10 folder is incomplete: missing {path}")
    try:
        with path.open("rb") as f:
            entry = _NumpyOnlyUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
        data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, TILE, TILE)
        labels = np.asarray(entry["labels"], dtype=np.int64)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt or hostile file: one line, no traceback
        raise DataError(f"{path} is not a CIFAR-10 python batch: {exc}") from None
    if len(data) != len(labels):
        raise DataError(f"{path}: {len(data)} images but {len(labels)} labels")
    return {"data": data, "labels": labels}


def _load_torchvision_batches(folder: Path) -> Cifar10:
    train = [_read_batch(folder / n) for n in TORCHVISION_TRAIN]
    test = _read_batch(folder / TORCHVISION_TEST)
    classes = CLASSES
    meta = folder / "batches.meta"
    if meta.is_file():
        try:
            with meta.open("rb") as f:
                names = _NumpyOnlyUnpickler(io.BytesIO(f.read()), encoding="latin1").load()["label_names"]
            classes = tuple(str(n) for n in names)
        except Exception:  # noqa: BLE001 - class names are cosmetic; the standard ones are known
            classes = CLASSES
    return Cifar10(
        torch.from_numpy(np.concatenate([b["data"] for b in train])),
        torch.from_numpy(np.concatenate([b["labels"] for b in train])),
        torch.from_numpy(test["data"].copy()),
        torch.from_numpy(test["labels"].copy()),
        classes,
        str(folder),
    )


def _torchvision_download(root: Path) -> None:
    import torchvision

    try:
        torchvision.datasets.CIFAR10(str(root), train=True, download=True)
    except Exception as exc:  # noqa: BLE001 - network errors come in many types
        raise DataError(f"could not download CIFAR-10 into {root}: {type(exc).__name__}: {exc}") from None


def cache_info(root: str | os.PathLike | None = None) -> dict:
    """Where the decoded copy of the WebP sheets under ``root`` is (or would be) cached, for display."""
    root = Path(root) if root is not None else default_cifar10_root()
    names = (*SHEET_FILES, "labels.npz", "classes.txt")
    key = _source_key(root, names)
    path = cache_dir() / "cifar10" / f"cifar10-{key}.pt"
    return {"root": str(root), "cache_file": str(path), "cached": path.is_file()}
