"""Architecture tables and the paper/torchvision comparison, checked against PAPER.md's numbers."""

from __future__ import annotations

import pytest
from torch import nn

from alexnet.lrn import LocalResponseNorm
from explorer.architecture import (
    DIFFERENCES,
    PAPER_TWO_TOWER_VARIANT,
    PAPER_VARIANT,
    TORCHVISION_VARIANT,
    VARIANTS,
    analyse_variant,
    bars_figure,
    bars_matplotlib,
    build_variant,
    comparison_rows,
    layer_table,
    measure_model,
    overview_row,
    totals,
    variant_summary,
    weight_layers,
)


def test_small_model_measured_by_hand():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1, groups=1), nn.ReLU(), LocalResponseNorm(size=3),
        nn.Conv2d(4, 6, 3, groups=2), nn.ReLU(), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(6 * 3 * 3, 5), nn.ReLU(), nn.Linear(5, 2),
    )
    facts = measure_model(model, 9)
    assert facts["conv_kernels"] == [4, 6]
    assert facts["conv1_geometry"] == "3x3 / stride 2 / pad 1"
    assert facts["conv1_output"] == "4x5x5"  # (9 + 2 - 3) // 2 + 1 = 5
    assert facts["conv_stack_output"] == "6x3x3"
    assert facts["grouped_convs"] == ["conv2"]
    assert facts["lrn_after"] == ["conv1"]
    assert facts["lrn_effective_alpha"] == [pytest.approx(1e-4 / 3)]
    assert facts["dropout_before"] == ["fc6"]
    # params: 4*27+4 + 6*2*9+6 + 54*5+5 + 5*2+2
    assert facts["params"] == 112 + 114 + 275 + 12
    # mult-adds: conv1 4*5*5*27, conv2 6*3*3*(2*9), fc 54*5 + 5*2
    assert facts["mult_adds"] == 2700 + 972 + 270 + 10


def test_unknown_variant_is_refused():
    with pytest.raises(KeyError, match="unknown model variant"):
        build_variant("VGG")


@pytest.fixture(scope="module")
def facts():
    return {label: analyse_variant(label)[1] for label in (PAPER_VARIANT, PAPER_TWO_TOWER_VARIANT, TORCHVISION_VARIANT)}


def test_parameter_counts_match_paper_md(facts):
    # ../shared/PAPER.md: one tower 62,378,344; two towers 60,965,224; torchvision 61,100,840.
    assert facts[PAPER_VARIANT]["params"] == 62_378_344
    assert facts[PAPER_TWO_TOWER_VARIANT]["params"] == 60_965_224
    assert facts[TORCHVISION_VARIANT]["params"] == 61_100_840
    assert totals(variant_summary(PAPER_VARIANT))["params"] == 62_378_344


def test_measured_differences(facts):
    paper, towers, tv = facts[PAPER_VARIANT], facts[PAPER_TWO_TOWER_VARIANT], facts[TORCHVISION_VARIANT]
    assert paper["conv_kernels"] == [96, 256, 384, 384, 256]
    assert tv["conv_kernels"] == [64, 192, 384, 256, 256]
    assert paper["conv1_geometry"] == "11x11 / stride 4 / pad 0" and tv["conv1_geometry"].endswith("pad 2")
    assert paper["conv1_output"] == "96x55x55" and tv["conv1_output"] == "64x55x55"
    assert paper["grouped_convs"] == [] and towers["grouped_convs"] == ["conv2", "conv4", "conv5"]
    assert paper["lrn_after"] == ["conv1", "conv2"] and tv["lrn_after"] == []
    assert paper["lrn_effective_alpha"] == [pytest.approx(1e-4 / 5)]  # cuda-convnet's alpha/n
    # paper: dropout on the outputs of fc6 and fc7; torchvision: before fc6 and fc7.
    assert paper["dropout_before"] == ["fc7", "fc8"] and tv["dropout_before"] == ["fc6", "fc7"]
    assert paper["weight_std"]["fc6"] == pytest.approx(0.01, rel=0.01)
    assert paper["bias_values"] == "0: conv1, conv3, fc8; 1: conv2, conv4, conv5, fc6, fc7"
    # torchvision's published cost: 0.714 GFLOPs (multiply-adds).
    assert tv["mult_adds"] == pytest.approx(0.714e9, rel=1e-3)


def test_no_lrn_variant_has_no_lrn():
    assert analyse_variant("paper, one tower, no LRN")[1]["lrn_after"] == []


def test_layer_table_names_and_hand_checked_conv1():
    paper = {row["layer"]: row for row in layer_table(variant_summary(PAPER_VARIANT))}
    # conv1: 96 kernels of 3x11x11 + bias; each of 96x55x55 outputs needs 3*11*11 multiply-adds.
    assert paper["conv1"]["params"] == 96 * 3 * 11 * 11 + 96
    assert paper["conv1"]["mult_adds"] == 96 * 55 * 55 * 3 * 11 * 11
    assert paper["pool5"]["output"] == "256x6x6"
    tv = weight_layers(layer_table(variant_summary(TORCHVISION_VARIANT)))
    assert [r["layer"] for r in tv] == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert tv[0]["module"] == "features.0"


def test_comparison_rows_cover_every_difference(facts):
    rows = comparison_rows(facts[PAPER_VARIANT], facts[TORCHVISION_VARIANT], facts[PAPER_TWO_TOWER_VARIANT])
    assert [r["topic"] for r in rows] == [d.topic for d in DIFFERENCES]
    by_topic = {r["topic"]: r for r in rows}
    assert by_topic["parameters (1000 classes)"]["paper (this project)"] == "62,378,344 (two towers: 60,965,224)"
    assert by_topic["parameters (1000 classes)"]["torchvision"] == "61,100,840"
    assert by_topic["dropout on the input of"]["popular write-up's code"].startswith("before fc6")
    assert by_topic["LRN after"]["torchvision"] == "none"
    assert by_topic["test-time input"]["measured"].startswith("no")
    assert set(VARIANTS) >= {PAPER_VARIANT, PAPER_TWO_TOWER_VARIANT, TORCHVISION_VARIANT}


def test_bars_and_overview_come_from_the_table():
    table = layer_table(variant_summary(TORCHVISION_VARIANT))
    fig = bars_figure(table, "tv")
    params, macs = fig.data
    assert list(params.x) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert list(params.customdata) == [r["params"] for r in weight_layers(table)]
    assert macs.y[0] == pytest.approx(70_276_800 / 1e6)  # 64x55x55 outputs x 3*11*11
    figure = bars_matplotlib(table, "tv")
    assert [len(ax.patches) for ax in figure.axes] == [8, 8]
    row = overview_row(TORCHVISION_VARIANT, table, totals(variant_summary(TORCHVISION_VARIANT)))
    assert row["conv kernels"] == "64 / 192 / 384 / 256 / 256"
    assert row["LRN layers"] == 0 and row["input"] == "3x224x224" and row["params"] == 61_100_840
    paper = layer_table(variant_summary(PAPER_VARIANT))
    assert overview_row(PAPER_VARIANT, paper, totals(variant_summary(PAPER_VARIANT)))["LRN layers"] == 2


def test_no_difference_recorded_is_an_em_dash_not_a_markdown_bullet():
    rows = comparison_rows(*(analyse_variant(v)[1] for v in (PAPER_VARIANT, TORCHVISION_VARIANT)))
    assert "—" in {row["popular write-up's code"] for row in rows}
    assert all(value != "-" for row in rows for value in row.values())
