"""explorer.lrn.measures: LRN and its measures on small cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.lrn.measures import (
    NO_WINNER,
    LRNParams,
    apply_lrn,
    channel_contrast,
    hoyer_sparsity,
    lrn_effect,
    response_curve,
    response_curves,
    response_range,
    winner_change_share,
    winner_map,
    zero_fraction,
)

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


def test_response_range_peaks_where_the_derivative_vanishes():
    # b = a / (1 + a^2)^beta with beta=1 peaks at a = 1, so the axis goes to 2.
    assert response_range(SIMPLE) == pytest.approx(2.0)
    # paper constants: a* = sqrt(2 / ((2*0.75 - 1) * 2e-5)) = sqrt(200000)
    assert response_range(LRNParams()) == pytest.approx(2 * 200000 ** 0.5)
    assert response_range(LRNParams(beta=0.5)) == 1000.0  # no peak: the curve only bends
    columns = response_curves(SIMPLE, (0.0, 8.0), 3.0, points=4)
    assert list(columns) == ["input", "output_E=0", "output_E=8"]
    assert columns["output_E=8"] == pytest.approx([0.0, 1 / 10, 2 / 13, 3 / 18])


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
