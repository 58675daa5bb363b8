"""Seeded subsets and index-ordered batches of in-memory images."""

from __future__ import annotations

import torch

from alexnet.inputs import iterate_batches, subset_indices


def test_iterate_batches_slices_in_index_order():
    images = torch.arange(5)[:, None].expand(5, 2)
    targets = torch.arange(5)
    got = [t.tolist() for _, t in iterate_batches(images, targets, 2, torch.tensor([4, 0, 3, 1, 2]))]
    assert got == [[4, 0], [3, 1], [2]]
    assert [t.tolist() for _, t in iterate_batches(images, targets, 3)] == [[0, 1, 2], [3, 4]]


def test_subset_indices_are_sorted_seeded_and_none_for_all():
    picked = subset_indices(10, 4, seed=1)
    assert picked.tolist() == sorted(picked.tolist()) and len(set(picked.tolist())) == 4
    assert torch.equal(picked, subset_indices(10, 4, seed=1))
    assert not torch.equal(picked, subset_indices(10, 4, seed=2))
    assert subset_indices(10, None, seed=1) is None and subset_indices(10, 10, seed=1) is None
