"""Top-k error: how often the target is not among a model's k best-scored classes."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor


def topk_wrong(scores: Tensor, targets: Tensor, ks: Sequence[int] = (1, 5)) -> list[int]:
    """How many rows of ``scores`` (N, C) do not have their target among the top k, for each k.

    k larger than the number of classes counts as C (every target is then inside: 0 wrong).
    """
    classes = scores.shape[1]
    top = scores.topk(min(max(ks), classes), dim=1).indices
    hits = top == targets[:, None]
    return [int((~hits[:, : min(k, classes)].any(dim=1)).sum()) for k in ks]


def topk_errors(scores: Tensor, targets: Tensor, ks: Sequence[int] = (1, 5)) -> tuple[float, ...]:
    """Top-k error rates (fractions in [0, 1]) of ``scores`` (N, C) against ``targets`` (N,)."""
    if scores.shape[0] == 0:
        raise ValueError("top-k error of an empty batch is undefined")
    return tuple(w / scores.shape[0] for w in topk_wrong(scores, targets, ks))
