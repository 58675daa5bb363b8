"""The paper's Figure 4: validation images, their top-5 and the training images nearest in fc7 space (no Streamlit).

Section 6.1: the six training images whose fc7 vectors (after the ReLU) are nearest a test image's, by
Euclidean distance, are what "the higher levels of the network consider similar". The search and the
majority vote are ``alexnet.neighbours``'; the vectors come from ``explorer.validation.score_folder``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from alexnet.neighbours import majority_agreement, nearest, neighbour_rows
from explorer.activations import top_k

__all__ = ["NEIGHBOURS", "example_rows", "neighbour_agreement", "neighbours_of", "pick_examples", "top1_accuracy"]

NEIGHBOURS = 6  # the paper shows six per query


def pick_examples(labels: Sequence[int] | np.ndarray | torch.Tensor, count: int, seed: int = 0) -> list[int]:
    """``count`` image indices spread over the classes (one per class in a shuffled class order, then again).

    The same ``seed`` gives the same images; another seed, others.
    """
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    per_class = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in rng.permutation(np.unique(labels))}
    picked: list[int] = []
    while len(picked) < min(count, labels.size):
        for members in per_class.values():
            if members and len(picked) < count:
                picked.append(int(members.pop(0)))
    return picked


def neighbours_of(train: dict[str, Any], queries: np.ndarray | torch.Tensor, k: int = NEIGHBOURS) -> list[list[dict]]:
    """For each fc7 vector (Q, 4096) or one (4096,): the ``k`` nearest training images, nearest first.

    Rows are ``alexnet.neighbours.neighbour_rows``' (``image``, ``class`` folder, ``distance``) plus ``name``,
    the class's readable name.
    """
    q = torch.as_tensor(np.asarray(queries) if not isinstance(queries, torch.Tensor) else queries).float()
    if q.ndim == 1:
        q = q.unsqueeze(0)
    distances, indices = nearest(train["features"], q, k)
    names = dict(zip(train["classes"], train.get("class_names") or train["classes"], strict=True))
    rows = neighbour_rows(train, distances, indices)
    return [[{**row, "name": names[row["class"]]} for row in found] for found in rows]


def example_rows(val: dict[str, Any], train: dict[str, Any], indices: Sequence[int], k: int = NEIGHBOURS) -> list[dict]:
    """One Figure 4 row per validation image: its path, true class name, top-5 and ``k`` nearest training images."""
    if not indices:
        return []
    names = list(val["class_names"])
    found = neighbours_of(train, val["features"][list(indices)], k)
    return [
        {
            "image": val["paths"][i],
            "true": names[int(val["labels"][i])],
            "top5": top_k(val["logits"][i], 5, names),
            "neighbours": near,
        }
        for i, near in zip(indices, found, strict=True)
    ]


def neighbour_agreement(train: dict[str, Any], val: dict[str, Any], k: int = NEIGHBOURS) -> float:
    """Share of validation images whose ``k`` nearest training images are mostly of their own class."""
    return majority_agreement(train, torch.as_tensor(val["features"]), torch.as_tensor(val["labels"]), k)


def top1_accuracy(val: dict[str, Any]) -> float:
    """Share of validation images whose highest score is their true class."""
    logits, labels = torch.as_tensor(val["logits"]), torch.as_tensor(val["labels"])
    return float((logits.argmax(dim=1) == labels).float().mean()) if labels.numel() else float("nan")
