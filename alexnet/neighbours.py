"""Nearest training images in fc7 space (the paper's Figure 4, right): features, their cache, the search.

Section 6.1: "If two images produce feature activation vectors with a small Euclidean separation, we
can say that the higher levels of the neural network consider them to be similar." The vector is
fc7's output after its ReLU (4,096 numbers, dropout off), for the centre crop of each image.

The training set's vectors are computed once, with a progress bar, and cached in
``$ALEXNET_CACHE_DIR/fc7/`` under a key made of the model's weights and the data folder's file list
(paths, sizes, modification times), so a query costs one forward pass and one matrix product.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from alexnet.checkpoint import atomic_save
from alexnet.data import find_split, list_image_folder, load_image_folder
from alexnet.paths import cache_dir
from alexnet.predict import Classifier

FEATURES_FORMAT = "alexnet-explorer/fc7/2"  # /2: squared norms cached with the vectors
FEATURE_LAYER = "relu7"


@torch.inference_mode()
def fc7_features(classifier: Classifier, images: Tensor, batch_size: int = 64) -> Tensor:
    """uint8 (N, 3, 256, 256) -> float32 (N, 4096): fc7 after its ReLU for each centre crop."""
    model = classifier.model.eval()
    head = []
    for name, module in model.classifier.named_children():
        head.append(module)
        if name == FEATURE_LAYER:
            break
    out = []
    for start in range(0, images.shape[0], batch_size):
        x = model.features(classifier.preset(images[start:start + batch_size]))
        for module in head:
            x = module(x)
        out.append(x.float())
    return torch.cat(out) if out else torch.empty(0, 4096)


def model_digest(classifier: Classifier) -> str:
    """A short hash of the model's weights (the feature cache's key: another model, other vectors)."""
    h = hashlib.sha256()
    for name, tensor in classifier.model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def folder_digest(paths: list[Path]) -> str:
    """A short hash of files' paths, sizes and modification times (a cache key: same files, same digest)."""
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def training_features(
    classifier: Classifier, data: str | os.PathLike, *, split: str = "train", progress: bool = True
) -> dict[str, Any]:
    """``{"features": (N, 4096), "paths": [...], "labels": (N,), "classes": [...]}`` for ``data/split``.

    Read from the cache when the same model has seen the same files; otherwise computed (decoding the
    folder through ``load_image_folder``'s own cache) and saved atomically.
    """
    folder = find_split(Path(data), split).expanduser().resolve()
    classes, samples = list_image_folder(folder)
    files, labels = [p for p, _ in samples], [c for _, c in samples]
    key = f"{model_digest(classifier)}-{folder_digest(files)}"
    path = cache_dir() / "fc7" / f"{key}.pt"
    if path.is_file():
        try:
            cached = torch.load(path, weights_only=True)
            if cached.get("format") == FEATURES_FORMAT:
                return cached
        except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed, never trusted
            pass
    images = load_image_folder(folder, progress=progress)
    feats = []
    batches = range(0, len(images), 64)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc=f"fc7 vectors of {folder}", unit="batch", leave=False)
    for start in batches:
        feats.append(fc7_features(classifier, images.images[start:start + 64]))
    # load_image_folder lists the folder with list_image_folder too: row i is files[i].
    features = torch.cat(feats)
    result = {"format": FEATURES_FORMAT, "features": features, "sq_norms": features.pow(2).sum(1),
              "paths": [str(p) for p in files],
              "labels": torch.as_tensor(labels), "classes": list(classes)}
    atomic_save(result, path)
    return result


def nearest(features: Tensor, queries: Tensor, k: int = 6, *, sq_norms: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The ``k`` rows of ``features`` nearest each query (Euclidean): (distances, indices), both (Q, k).

    ``sq_norms`` (each row's squared length, as ``training_features`` caches it) saves a pass over
    the whole matrix per query.
    """
    if sq_norms is None:
        sq_norms = features.pow(2).sum(1)
    # |a - b|^2 = |a|^2 - 2ab + |b|^2: one matrix product instead of Q x N difference vectors.
    d2 = (queries.pow(2).sum(1, keepdim=True) - 2 * queries @ features.T + sq_norms).clamp_min(0)
    dist, idx = d2.topk(min(k, features.shape[0]), dim=1, largest=False)
    return dist.sqrt(), idx


def neighbour_rows(train: dict[str, Any], distances: Tensor, indices: Tensor) -> list[list[dict[str, Any]]]:
    """JSON-ready rows: for each query ``[{"image", "class", "distance"}, ...]`` nearest first."""
    classes, labels, paths = train["classes"], train["labels"], train["paths"]
    return [
        [{"image": paths[i], "class": classes[int(labels[i])], "distance": float(d)}
         for d, i in zip(row_d.tolist(), row_i.tolist(), strict=True)]
        for row_d, row_i in zip(distances, indices, strict=True)
    ]


def majority_agreement(train: dict[str, Any], queries: Tensor, labels: Tensor, k: int = 6) -> float:
    """Share of queries whose k nearest training images are mostly (plurality) of the query's true class."""
    _, idx = nearest(train["features"], queries, k, sq_norms=train.get("sq_norms"))
    votes = train["labels"][idx]  # (Q, k)
    majority = torch.mode(votes, dim=1).values  # a tie goes to the smaller class index
    return float((majority == labels).float().mean())


__all__ = ["fc7_features", "folder_digest", "majority_agreement", "model_digest", "nearest", "neighbour_rows",
           "training_features"]
