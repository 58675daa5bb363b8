"""The why panel's data: ratio per condition, mechanism curves, what is missing, the sentence, the figures."""

from __future__ import annotations

import re

import pytest

from explorer.figure1 import measure_label, write_figures
from explorer.figure1_why import (
    why_conclusion,
    why_figure,
    why_mechanism_curves,
    why_mechanism_figure,
    why_mechanism_rows,
    why_missing,
    why_ratio_figure,
    why_ratio_rows,
)
from tests.alexnet.relu_tanh.synthetic import synthetic_results, synthetic_why_results


def test_ratio_rows_give_each_condition_its_ratio_or_a_bound():
    rows = why_ratio_rows(synthetic_why_results())
    assert [(r["condition"], r["label"], r["ratio"], r["bound"]) for r in rows] == [
        ("baseline", "current recipe", 7.0, None), ("unit-variance-input", "unit-variance input", 1.5, None),
        ("pytorch-init", "PyTorch init", 5.5, "lower"),  # tanh at 30% after 10 epochs: (10 + 1) / 2
        ("init-x10", "init x10", 4.0, None), ("relu-lr-0.001", "ReLU at lr 0.001", 3.5, None),
        ("relu-lr-0.01", "ReLU at lr 0.01", 0.667, "upper")]  # ReLU not at 25% in 20 epochs: 14 / (20 + 1)
    assert rows[0]["note"].startswith("the current recipe") and rows[1]["note"] == "unit-variance-input note"


def test_a_condition_on_three_seeds_says_so_and_draws_its_range():
    from alexnet.relu_tanh.config import ACTIVATIONS, MEASURES
    from alexnet.relu_tanh.summaries import ratio
    from tests.alexnet.relu_tanh.synthetic import why_group

    results = synthetic_why_results()  # the current recipe at seed 0: ReLU 2 epochs, tanh 14 (7x)
    for seed, tanh_reach in ((1, 12), (2, 16)):  # 6x and 8x
        for run in why_group("baseline", 2, tanh_reach, tanh_reach + 1, 0.97)["runs"]:
            results["runs"].append(dict(run, seed=seed))
    results["ratio_by_measure"] = {m: ratio(results["runs"], m, ACTIVATIONS) for m in MEASURES}
    base = why_ratio_rows(results)[0]
    assert (base["label"], base["ratio"], base["ratio_min"], base["ratio_max"]) == ("current recipe (3 seeds)", 7.0,
                                                                                   6.0, 8.0)
    whiskers = [t.error_y for t in why_ratio_figure(why_ratio_rows(results)).data if t.error_y.array is not None]
    assert len(whiskers) == 1 and (whiskers[0].arrayminus[0], whiskers[0].array[0]) == (1.0, 1.0)
    assert set(whiskers[0].array[1:]) == {0.0} and whiskers[0].width == 0  # one seed: no whisker, and no caps
    assert why_ratio_rows(synthetic_why_results())[0]["label"] == "current recipe"  # one seed: no count
    assert why_figure(results) is not None


@pytest.mark.parametrize(("tanh_epochs", "words"), [
    (3, ["1.5x ReLU's epochs to 25% instead of 7.0x", "97% against 1%", "recipe-dependent",
         "a matter of saturated tanh units"]),
    (13, ["barely moves", "7.0x with the current recipe, 6.5x with unit-variance inputs", "not an artefact"]),
    (8, ["move the ratio from 7.0x to 4.0x", "not enough on its own"]),
])
def test_the_sentence_follows_the_data(tanh_epochs, words):
    sentence = why_conclusion(synthetic_why_results(unit_variance_tanh=tanh_epochs))
    assert all(w in sentence for w in words), sentence
    assert sentence.endswith(".") and not re.search(r"[.:;]\s+[A-Z]", sentence)  # one sentence


def test_the_sentence_waits_for_both_conditions_and_names_saturation_only_when_recorded():
    results = synthetic_why_results()
    results["conditions"] = [c for c in results["conditions"] if c["name"] != "unit-variance-input"]
    assert why_conclusion(results) is None
    bare = why_conclusion(synthetic_why_results(mechanism=False))
    assert "recipe-dependent." in bare and "saturated" not in bare


def test_missing_lists_absent_runs_conditions_and_records():
    assert len(why_missing(None)) == 6 and "tanh at 0.003, 0.01, 0.03" in why_missing(None)[0]
    assert why_missing(synthetic_why_results()) == []
    partial = synthetic_why_results()
    partial["conditions"] = partial["conditions"][1:]
    partial["missing_units"] = ["unit-variance-input|run|tanh|0|0.03", "init-x10|sweep|relu|0.001"]
    assert why_missing(partial) == [
        "unit-variance input: not studied in this file (relu at 0.001, 0.003, 0.01; tanh at 0.003, 0.01, 0.03 "
        "(seed 0, each to 25% or 60 epochs))",
        "unit-variance input: tanh at lr 0.03 (seed 0)", "init x10: relu sweep at lr 0.001"]
    old = why_missing(synthetic_why_results(mechanism=False))
    assert old[0] == "current recipe: its tanh run has no saturation record (made before the record existed)"


def test_mechanism_curves_and_rows():
    curves = why_mechanism_curves(synthetic_why_results())
    assert [(c.condition, c.activation) for c in curves][:2] == [("baseline", "relu"), ("baseline", "tanh")]
    # The two "ReLU at lr ..." conditions keep the current recipe's tanh run (choice-only overrides): shown once.
    assert len(curves) == 10 and ("relu-lr-0.01", "tanh") not in {(c.condition, c.activation) for c in curves}
    assert ("relu-lr-0.01", "relu") in {(c.condition, c.activation) for c in curves}
    tanh = curves[1]
    assert tanh.epochs[0] == 0 and tanh.saturated_after("conv1", 1) == 0.97
    assert tanh.saturated_after("conv1", 99) is None
    assert curves[0].saturated == {} and curves[0].saturated_after("conv1", 1) is None
    rows = why_mechanism_rows(synthetic_why_results())
    assert rows[len(curves[0].epochs)] == {
        "condition": "baseline", "activation": "tanh", "seed": 0, "lr": 0.01, "epoch": 0, "saturated_conv1": 0.0,
        "saturated_conv2": 0.0, "saturated_conv3": 0.0, "weight_std_conv1": 1e-4, "weight_std_conv2": 1e-4,
        "weight_std_conv3": 1e-4, "weight_std_fc": 1e-4}
    assert why_mechanism_curves(synthetic_results()) == []  # old results: no record, no curves


def test_figures_draw_bars_saturation_and_weight_scale(tmp_path):
    results = synthetic_why_results()
    bars = why_ratio_figure(why_ratio_rows(results))
    assert [(t.name, list(t.x)) for t in bars.data] == [
        ("both at 25%", ["current recipe", "unit-variance input", "init x10", "ReLU at lr 0.001"]),
        ("lower bound: tanh not at 25%", ["PyTorch init"]), ("upper bound: ReLU not at 25%", ["ReLU at lr 0.01"])]
    assert any(shape.y0 == 6.0 for shape in bars.layout.shapes)  # the paper's 6x
    mech = why_mechanism_figure(why_mechanism_curves(results))
    assert [a.text for a in mech.layout.annotations][:4] == [
        "conv1 saturated", "conv2 saturated", "conv3 saturated", "conv1 weight std"]
    assert len(mech.data) == 4 * 3 + 10  # 3 layers per tanh run, conv1 weight std per run
    fig = why_figure(results)
    assert len(fig.axes) == 3 and len(fig.axes[1].lines) == 4 and len(fig.axes[2].lines) == 10
    written = write_figures(results, tmp_path)
    assert written["why_png"].name == "why.png" and written["why_png"].read_bytes()[:4] == b"\x89PNG"


def test_post_epoch_label_says_subset_or_all():
    committed = {"config": {"eval_train_images": 10000}, "data": {"train_images": 50000}}
    assert measure_label(committed, "post_epoch") == (
        "pass over a fixed 10,000-image training subset after each epoch (of 50,000)")
    assert measure_label(committed, "post_epoch", short=True) == "post-epoch, 10,000-image subset"
    every = {"config": {"eval_train_images": None}, "data": {"train_images": 50000}}
    assert measure_label(every, "post_epoch") == "pass over all 50,000 training images after each epoch"
    assert measure_label(committed, "running", short=True) == "running"
