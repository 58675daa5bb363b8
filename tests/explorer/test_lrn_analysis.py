"""LRN analysis: small cases computed by hand, and the layer runner against the models' own forward."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from alexnet.model import AlexNet
from explorer.lrn_analysis import (
    NO_WINNER,
    LRNParams,
    analyse_image,
    apply_lrn,
    change_image,
    channel_contrast,
    channel_pair,
    downstream_change,
    hoyer_sparsity,
    lrn_effect,
    lrn_layer_count,
    response_curve,
    response_curves,
    response_range,
    run_features,
    shared_range_grids,
    winner_change_share,
    winner_colours,
    winner_image,
    winner_map,
    winner_shift_rows,
    zero_fraction,
)
from explorer.models import TorchvisionAlexNet

# k=1, n=3, alpha=1 (as printed), beta=1: b_i = a_i / (1 + a_{i-1}^2 + a_i^2 + a_{i+1}^2).
SIMPLE = LRNParams(k=1.0, size=3, alpha=1.0, beta=1.0, alpha_convention="paper")


def column(values) -> torch.Tensor:
    """A 1 x C x 1 x 1 tensor with the given channel values."""
    return torch.tensor(values, dtype=torch.float64).view(1, -1, 1, 1)


def test_five_channels_by_hand():
    # squares 1,4,9,16,25; window sums 5,14,29,50,41 (zero beyond the ends).
    out = apply_lrn(column([1, 2, 3, 4, 5]), SIMPLE).flatten().tolist()
    assert out == pytest.approx([1 / 6, 2 / 15, 3 / 30, 4 / 51, 5 / 42])


def test_cuda_convnet_convention_divides_alpha_by_n():
    cuda = LRNParams(k=1.0, size=3, alpha=3.0, beta=1.0, alpha_convention="cuda-convnet")
    assert cuda.effective_alpha == pytest.approx(1.0)
    x = column([1, 2, 3, 4, 5])
    assert torch.allclose(apply_lrn(x, cuda), apply_lrn(x, SIMPLE))


def test_paper_constants_by_hand():
    # k=2, n=5, alpha=1e-4/5, beta=0.75: the middle channel's window holds all five squares (sum 55).
    out = apply_lrn(column([1, 2, 3, 4, 5]), LRNParams()).flatten()
    assert out[2].item() == pytest.approx(3 / (2 + 2e-5 * 55) ** 0.75)
    # the first channel's window: channels 0..2 (n//2 = 2 after it), squares 1+4+9.
    assert out[0].item() == pytest.approx(1 / (2 + 2e-5 * 14) ** 0.75)


def test_groups_keep_the_window_inside_each_tower():
    x = column([1, 2, 3, 4])
    towers = apply_lrn(x, LRNParams(k=1, size=3, alpha=1, beta=1, alpha_convention="paper", groups=2))
    # tower 1 = channels 0,1 (sums 5, 5); tower 2 = channels 2,3 (sums 25, 25).
    assert towers.flatten().tolist() == pytest.approx([1 / 6, 2 / 6, 3 / 26, 4 / 26])


def test_three_dimensional_input_is_accepted():
    x = column([1, 2, 3, 4, 5])
    assert torch.equal(apply_lrn(x[0], SIMPLE), apply_lrn(x, SIMPLE)[0])


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="alpha_convention"):
        LRNParams(alpha_convention="caffe")
    with pytest.raises(ValueError, match="positive"):
        LRNParams(size=0)


def test_response_curve_by_hand():
    # energy 8 spread over the two neighbours: b = a / (1 + a^2 + 8).
    curve = response_curve([0.0, 1.0, 3.0], 8.0, SIMPLE)
    assert curve == pytest.approx([0.0, 1 / 10, 3 / 18])
    # n=1: no neighbours, the energy has nothing to act on.
    alone = LRNParams(k=1.0, size=1, alpha=1.0, beta=1.0, alpha_convention="paper")
    assert response_curve([2.0], 100.0, alone) == pytest.approx([2 / 5])
    with pytest.raises(ValueError, match="negative"):
        response_curve([1.0], -1.0, SIMPLE)


def test_response_curve_bends_over_and_more_energy_suppresses_more():
    a = np.linspace(0, 10, 101)
    low, high = response_curve(a, 0.0, SIMPLE), response_curve(a, 50.0, SIMPLE)
    assert np.all(high[1:] < low[1:])
    # b = a / (1 + a^2) peaks at a = 1 and then falls: strong inputs inhibit themselves.
    assert a[np.argmax(low)] == pytest.approx(1.0)


def test_winner_changes_in_the_five_channel_case():
    before = column([1, 2, 3, 4, 5])
    after = apply_lrn(before, SIMPLE)  # 1/6 is now the largest of 1/6, 2/15, 1/10, 4/51, 5/42
    assert winner_map(before).tolist() == [[4]]
    assert winner_map(after).tolist() == [[0]]
    assert winner_change_share(before, after) == 1.0


def test_winner_map_and_share_over_positions():
    # channels x positions: position 0 -> channel 2 wins; position 1 -> nothing active; position 2 -> channel 0.
    x = torch.tensor([[[[0.0, 0.0, 5.0]], [[1.0, 0.0, 1.0]], [[3.0, 0.0, 2.0]]]])
    assert winner_map(x).tolist() == [[2, NO_WINNER, 0]]
    swapped = x.clone()
    swapped[0, 1, 0, 0] = 4.0  # position 0 now won by channel 1; position 2 unchanged
    assert winner_change_share(x, swapped) == pytest.approx(1 / 2)  # inactive position left out
    assert math.isnan(winner_change_share(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)))


def test_ties_go_to_the_lowest_channel():
    assert winner_map(column([2, 2, 1])).tolist() == [[0]]


def test_contrast_sparsity_and_zeros_by_hand():
    equal, single = column([1, 1, 1]), column([0, 0, 3])
    assert channel_contrast(equal) == pytest.approx(0.0)
    assert channel_contrast(single) == pytest.approx(math.sqrt(2))  # std sqrt(2), mean 1
    assert hoyer_sparsity(equal) == pytest.approx(0.0)
    assert hoyer_sparsity(single) == pytest.approx(1.0)
    assert zero_fraction(single) == pytest.approx(2 / 3)
    # both measures ignore overall scale, so dividing everything by a constant changes nothing.
    x = torch.rand(1, 8, 4, 4, dtype=torch.float64)
    assert channel_contrast(3 * x) == pytest.approx(channel_contrast(x))
    assert hoyer_sparsity(3 * x) == pytest.approx(hoyer_sparsity(x))


def test_lrn_effect_reports_gain_and_changes():
    before = column([1, 2, 3, 4, 5])
    after = apply_lrn(before, SIMPLE)
    effect = lrn_effect(before, after)
    gains = [1 / 6, 1 / 15, 1 / 30, 1 / 51, 1 / 42]
    assert effect["mean_gain"] == pytest.approx(sum(gains) / 5)
    assert effect["min_gain"] == pytest.approx(1 / 51)
    assert effect["winner_change_share"] == 1.0
    assert effect["zero_fraction"] == 0.0
    # LRN evens out the five channels here: 1..5 become 0.17, 0.13, 0.10, 0.08, 0.12.
    assert effect["contrast_after"] < effect["contrast_before"]


@pytest.fixture(scope="module")
def paper_model():
    torch.manual_seed(0)
    return AlexNet(num_classes=10).eval()


@pytest.fixture(scope="module")
def image():
    return torch.randn(1, 3, 227, 227, generator=torch.Generator().manual_seed(1)) * 50


def test_run_features_with_the_models_own_lrn_matches_its_forward(paper_model, image):
    acts = run_features(paper_model, image, LRNParams(), with_logits=True)
    assert list(acts) == ["conv1", "lrn1", "conv2", "lrn2", "conv3", "conv4", "conv5", "pool5", "logits"]
    with torch.no_grad():
        assert torch.allclose(acts["pool5"], paper_model.features(image), atol=1e-5)
        assert torch.allclose(acts["logits"], paper_model(image), atol=1e-5)
        conv1 = torch.relu(paper_model.layer("conv1")(image))
    assert torch.allclose(acts["conv1"], conv1)
    assert acts["conv1"].shape == (1, 96, 55, 55) and acts["conv2"].shape == (1, 256, 27, 27)


def test_run_features_without_lrn_matches_the_no_lrn_ablation(paper_model, image):
    ablation = AlexNet(num_classes=10, lrn=False, init=False)
    ablation.load_state_dict(paper_model.state_dict())  # LRN has no weights: same layers otherwise
    acts = run_features(paper_model, image, None)
    assert "lrn1" not in acts
    with torch.no_grad():
        assert torch.allclose(acts["pool5"], ablation.eval().features(image), atol=1e-5)
    on = run_features(paper_model, image, LRNParams())
    rows = downstream_change(on, acts)
    assert [r["layer"] for r in rows] == ["conv1", "conv2", "conv3", "conv4", "conv5", "pool5"]
    assert rows[0]["relative_change"] == 0.0  # conv1's ReLU output comes before any LRN
    assert rows[1]["relative_change"] > 0
    # the paper's LRN divides by about k**beta = 2**0.75, so the activations shrink downstream.
    assert rows[1]["norm_ratio"] < 1


def test_run_features_leaves_the_model_alone(paper_model, image):
    with torch.no_grad():
        expected = paper_model(image)
    run_features(paper_model, image, LRNParams(k=0.5, alpha=1.0, beta=2.0))
    assert lrn_layer_count(paper_model) == 2
    assert paper_model.layer("lrn1").k == 2.0
    assert all(not m._forward_hooks for m in paper_model.modules())
    with torch.no_grad():
        assert torch.equal(paper_model(image), expected)


def test_run_features_refuses_training_mode():
    model = nn.Sequential()
    model.features = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())
    with pytest.raises(ValueError, match="eval mode"):
        run_features(model.train(), torch.zeros(1, 3, 5, 5), None)


def test_two_tower_groups_match_the_two_tower_model(image):
    model = AlexNet(num_classes=10, towers=2, init=False).eval()
    acts = run_features(model, image, LRNParams(groups=2))
    with torch.no_grad():
        assert torch.allclose(acts["pool5"], model.features(image), atol=1e-5)


def test_torchvision_alexnet_has_no_lrn_and_runs_unchanged_without_it():
    model = torchvision.models.alexnet(weights=None, num_classes=10).eval()
    x = torch.randn(1, 3, 224, 224)
    assert lrn_layer_count(model) == 0
    acts = run_features(model, x, None, with_logits=True)
    with torch.no_grad():
        assert torch.allclose(acts["logits"], model(x), atol=1e-5)
    with_lrn = run_features(model, x, LRNParams())
    assert with_lrn["lrn1"].shape == (1, 64, 55, 55)
    # the dashboard's wrapper converts its input before torchvision's layers: run_features goes through it.
    wrapped = TorchvisionAlexNet(model).eval()
    acts = run_features(wrapped, x, None, with_logits=True)
    with torch.no_grad():
        assert torch.allclose(acts["logits"], wrapped(x), atol=1e-5)


def test_response_range_peaks_where_the_derivative_vanishes():
    # b = a / (1 + a^2)^beta with beta=1 peaks at a = 1, so the axis goes to 2.
    assert response_range(SIMPLE) == pytest.approx(2.0)
    # paper constants: a* = sqrt(2 / ((2*0.75 - 1) * 2e-5)) = sqrt(200000)
    assert response_range(LRNParams()) == pytest.approx(2 * 200000 ** 0.5)
    assert response_range(LRNParams(beta=0.5)) == 1000.0  # no peak: the curve only bends
    columns = response_curves(SIMPLE, (0.0, 8.0), 3.0, points=4)
    assert list(columns) == ["input", "output_E=0", "output_E=8"]
    assert columns["output_E=8"] == pytest.approx([0.0, 1 / 10, 2 / 13, 3 / 18])


def test_winner_pictures_and_shifts():
    before = np.array([[0, 1], [NO_WINNER, 2]])
    after = np.array([[0, 2], [NO_WINNER, 2]])
    palette = winner_colours(3)
    image = winner_image(before, 3, scale=2)
    assert image.shape == (4, 4, 3) and image.dtype == np.uint8
    assert (image[0, 0] == palette[0]).all() and (image[2, 0] == 0).all()  # no winner: black
    assert len({tuple(c) for c in palette[:3]}) == 3
    changed = change_image(before, after)
    assert changed[0, 1].tolist() == [255, 255, 255] and changed[1, 0].tolist() == [0, 0, 0]
    assert changed[0, 0].tolist() == [110, 110, 110]
    # channel 1 loses its only position to channel 2; channel 0 is unchanged and not listed.
    assert winner_shift_rows(before, after, 3) == [
        {"channel": 1, "wins_before": 1, "wins_after": 0, "change": -1},
        {"channel": 2, "wins_before": 1, "wins_after": 2, "change": 1},
    ]
    pair = channel_pair(np.ones((3, 2, 2)), np.zeros((3, 2, 2)), 1)
    assert pair.shape == (2, 2, 2) and pair[0].sum() == 4 and pair[1].sum() == 0
    with pytest.raises(IndexError):
        channel_pair(np.ones((3, 2, 2)), np.ones((3, 2, 2)), 3)


def test_analyse_image_collects_what_the_page_shows(paper_model, image):
    result = analyse_image(paper_model, image, LRNParams(), with_logits=True)
    assert list(result["layers"]) == ["conv1", "conv2"]
    conv1 = result["layers"]["conv1"]
    assert conv1["before"].shape == (96, 55, 55) and conv1["winners_after"].shape == (55, 55)
    assert conv1["effect"]["mean_gain"] < 2 ** -0.75 + 1e-6  # never more than the k^-beta of an empty window
    assert [r["layer"] for r in result["downstream"]][-1] == "logits"
    assert list(result["downstream_maps"]) == ["conv3", "conv4", "conv5"]
    with_lrn, without = result["downstream_maps"]["conv3"]
    assert with_lrn.shape == without.shape == (384, 13, 13) and not np.array_equal(with_lrn, without)
    assert result["logits_on"].shape == (10,)
    positive = conv1["before"][conv1["before"] > 0]
    assert result["activation_p99"] == pytest.approx(np.percentile(positive, 99), rel=1e-5)


def test_shared_range_grids_use_one_scale_for_both():
    from matplotlib import colormaps

    before = np.array([[[0.0, 4.0], [1.0, 1.0]], [[2.0, 2.0], [2.0, 2.0]]])
    after = before / 2  # what a uniform LRN division looks like
    grid_b, grid_a = shared_range_grids(before, after)
    assert grid_b.shape == grid_a.shape == (2, 5, 3)  # two 2x2 maps side by side, 1 pixel apart
    lut = (colormaps["viridis"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
    assert grid_b[0, 1].tolist() == lut[255].tolist()  # 4: the top of the shared range
    assert grid_a[0, 1].tolist() == lut[128].tolist()  # 2 after the division: half way, not re-stretched
    assert grid_a[0, 0].tolist() == lut[0].tolist()
    with pytest.raises(ValueError):
        shared_range_grids(before, after[:1])
