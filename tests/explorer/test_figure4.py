"""explorer.figure4 on vectors made by hand: which images are picked, their neighbours, the agreement."""

from __future__ import annotations

import pytest
import torch

from explorer.figure4 import example_rows, neighbour_agreement, neighbours_of, pick_examples, top1_accuracy


@pytest.fixture
def train() -> dict:
    # Two classes on a line: class 0 near 0, class 1 near 10.
    return {
        "features": torch.tensor([[0.0, 0], [1, 0], [2, 0], [9, 0], [10, 0], [11, 0]]),
        "labels": torch.tensor([0, 0, 0, 1, 1, 1]),
        "paths": [f"t{i}.jpg" for i in range(6)],
        "classes": ["n0", "n1"],
        "class_names": ["zero", "ten"],
    }


@pytest.fixture
def val() -> dict:
    return {
        "features": torch.tensor([[0.4, 0], [9.6, 0], [3.0, 0]]),  # the last is class 1 but lies among class 0
        "labels": torch.tensor([0, 1, 1]),
        "logits": torch.tensor([[2.0, 0], [0, 2], [1, 0]]),
        "paths": ["v0.jpg", "v1.jpg", "v2.jpg"],
        "classes": ["n0", "n1"],
        "class_names": ["zero", "ten"],
    }


def test_neighbours_nearest_first_with_readable_names(train):
    (found,) = neighbours_of(train, torch.tensor([5.8, 0.0]), k=3)
    assert [row["image"] for row in found] == ["t3.jpg", "t2.jpg", "t4.jpg"]
    assert [row["name"] for row in found] == ["ten", "zero", "ten"] and found[0]["class"] == "n1"
    assert found[0]["distance"] == pytest.approx(3.2, abs=1e-3)


def test_example_rows_hold_truth_top5_and_neighbours(train, val):
    rows = example_rows(val, train, [2, 0], k=2)
    assert [r["image"] for r in rows] == ["v2.jpg", "v0.jpg"]
    assert rows[0]["true"] == "ten" and rows[0]["top5"][0]["name"] == "zero"  # wrong, as drawn
    assert [n["image"] for n in rows[0]["neighbours"]] == ["t2.jpg", "t1.jpg"]
    assert example_rows(val, train, []) == []


def test_agreement_and_accuracy_by_hand(train, val):
    assert neighbour_agreement(train, val, k=3) == pytest.approx(2 / 3)  # v2's neighbours are class 0
    assert top1_accuracy(val) == pytest.approx(2 / 3)


def test_picked_examples_spread_over_classes_and_follow_the_seed():
    labels = [0] * 5 + [1] * 5 + [2] * 5
    picked = pick_examples(labels, 6, seed=1)
    assert len(set(picked)) == 6 and sorted(labels[i] for i in picked) == [0, 0, 1, 1, 2, 2]
    assert pick_examples(labels, 6, seed=1) == picked and pick_examples(labels, 6, seed=2) != picked
    assert len(pick_examples([0, 1], 5)) == 2
