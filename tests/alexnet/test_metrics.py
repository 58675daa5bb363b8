"""Top-k error counts and rates, checked by hand."""

from __future__ import annotations

import pytest
import torch

from alexnet.metrics import topk_errors, topk_wrong


def test_topk_hand_checked():
    scores = torch.tensor([
        [0.1, 0.5, 0.2, 0.0, 0.3, 0.9],  # target 5: top-1 right
        [0.9, 0.1, 0.2, 0.3, 0.4, 0.5],  # target 1: lowest score -> wrong in top-1 and top-5
        [0.0, 0.2, 0.1, 0.9, 0.3, 0.4],  # target 4: 3rd best -> top-1 wrong, top-5 right
    ])
    targets = torch.tensor([5, 1, 4])
    assert topk_wrong(scores, targets, (1, 5)) == [2, 1]
    assert topk_errors(scores, targets) == pytest.approx((2 / 3, 1 / 3))
    # fewer classes than k: every target is inside the top k
    assert topk_errors(scores[:, :3], torch.tensor([0, 1, 2]), (1, 5))[1] == 0.0
    with pytest.raises(ValueError):
        topk_errors(scores[:0], targets[:0])
