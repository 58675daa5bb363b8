"""Nearest training images in fc7 space (the paper's Figure 4, right): features, their cache, the search.

Section 6.1: "If two images produce feature activation vectors with a small Euclidean separation, we
can say that the higher levels of the neural network consider them to be similar." The vector is
fc7's output after its ReLU (4,096 numbers, dropout off), for the centre crop of each image.

The training set's vectors are computed once, with a progress bar, and cached in
``$ALEXNET_CACHE_DIR/fc7/`` under a key made of the model's weights and the data folder's file list
(paths, sizes, modification times), so a query costs one forward pass and one matrix product.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from alexnet.checkpoint import atomic_save
from alexnet.data import decode_image_file, find_split, list_image_folder
from alexnet.paths import cache_dir
from alexnet.predict import Classifier

FEATURES_FORMAT = "alexnet-explorer/fc7/3"  # /3: fc7 and the class scores from one pass, streamed decoding
BATCH = 50


def head_outputs(model: nn.Module, pooled: Tensor) -> tuple[Tensor, Tensor]:
    """(fc7 after its ReLU, class scores), float32 (N, ...), from the last feature map (model in eval mode).

    The classifier's modules run in order; fc7 is the output of the activation after its second Linear,
    so torchvision's numbered classifier works like this package's named one.
    """
    x, linears, fc7 = pooled.flatten(1), 0, None  # torchvision flattens in forward(), not in its classifier
    for module in model.classifier.children():
        x = module(x)
        if isinstance(module, nn.Linear):
            linears += 1
        elif linears == 2 and fc7 is None and isinstance(module, (nn.ReLU, nn.Tanh)):
            fc7 = x.float().clone()  # clone: an in-place module later must not change it
    if fc7 is None:
        raise ValueError(f"{type(model).__name__}'s classifier has no activation after a second Linear (fc7)")
    return fc7, x.float()


@torch.inference_mode()
def fc7_features(classifier: Classifier, images: Tensor, batch_size: int = 64) -> Tensor:
    """uint8 (N, 3, 256, 256) -> float32 (N, 4096): fc7 after its ReLU for each centre crop."""
    model = classifier.model.eval()
    out = [head_outputs(model, model.features(classifier.preset(images[start:start + batch_size])))[0]
           for start in range(0, images.shape[0], batch_size)]
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


def _cached(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        cached = torch.load(path, weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed, never trusted
        return None
    return cached if isinstance(cached, dict) and cached.get("format") == FEATURES_FORMAT else None


@torch.inference_mode()
def folder_outputs(
    classifier: Classifier,
    folder: str | os.PathLike,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH,
    cache: bool = True,
    guard: Callable[[], AbstractContextManager] = contextlib.nullcontext,
) -> dict[str, Any]:
    """Every image of an ImageFolder-layout ``folder`` through the model, centre crop, in batches.

    ``{"features": (N, 4096) fc7 after its ReLU, "sq_norms": (N,), "logits": (N, outputs) in the model's
    output order, "labels": (N,) folder class indices, "paths": [str], "classes": [folder names]}``.
    Images are decoded one batch at a time (``decode_image_file``), so memory stays one batch deep.
    Cached in ``$ALEXNET_CACHE_DIR/fc7/``, keyed by the model's weights and the files: the CLI's
    neighbours, the export script and the dashboard's Validation and Figure 4 pages share one entry.
    ``on_progress(done, total)`` is called at the start and after each batch (not on a cache hit);
    ``guard()`` is held around each batch's forward pass (the dashboard's per-model lock).
    """
    folder = Path(folder).expanduser().resolve()
    classes, samples = list_image_folder(folder)
    files = [path for path, _ in samples]
    path = cache_dir() / "fc7" / f"{model_digest(classifier)}-{folder_digest(files)}.pt"
    if cache and (hit := _cached(path)) is not None:
        return hit
    model = classifier.model.eval()
    features, logits = [], []
    if on_progress is not None:
        on_progress(0, len(files))
    for start in range(0, len(files), batch_size):
        batch = torch.stack([decode_image_file(p) for p in files[start:start + batch_size]])
        with guard():
            fc7, scores = head_outputs(model, model.features(classifier.preset(batch)))
        features.append(fc7)
        logits.append(scores)
        if on_progress is not None:
            on_progress(min(start + batch_size, len(files)), len(files))
    fc7_all = torch.cat(features) if features else torch.empty(0, 4096)
    result = {"format": FEATURES_FORMAT, "features": fc7_all, "sq_norms": fc7_all.pow(2).sum(1),
              "logits": torch.cat(logits) if logits else torch.empty(0, 0),
              "labels": torch.tensor([label for _, label in samples], dtype=torch.int64),
              "paths": [str(p) for p in files], "classes": list(classes)}
    if cache:
        try:
            atomic_save(result, path)
        except OSError:  # a read-only or full disk costs a recomputation next time, not this one
            pass
    return result


def training_features(
    classifier: Classifier, data: str | os.PathLike, *, split: str = "train", progress: bool = True
) -> dict[str, Any]:
    """``folder_outputs`` of ``data/split`` with a tqdm progress bar (the CLI's and export script's entry)."""
    folder = find_split(Path(data), split)
    if not progress:
        return folder_outputs(classifier, folder)
    from tqdm import tqdm

    with tqdm(desc=f"fc7 vectors of {folder}", unit="img", leave=False) as bar:
        def report(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        return folder_outputs(classifier, folder, on_progress=report)


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


__all__ = ["fc7_features", "folder_digest", "folder_outputs", "head_outputs", "majority_agreement", "model_digest",
           "nearest", "neighbour_rows", "training_features"]
