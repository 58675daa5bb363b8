"""alexnet.quantize: each scheme round-trips within its step size, keeps zeros, and packs as documented."""

from __future__ import annotations

import pytest
import torch

from alexnet.quantize import (
    INT4_GROUP,
    compress,
    compress_state_dict,
    decompress,
    decompress_state_dict,
    stored_bytes,
)


@pytest.fixture
def weight():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(32, 4 * INT4_GROUP, generator=g) * torch.logspace(-3, -1, 32).unsqueeze(1)
    w[0, :5] = 0.0
    return w


@pytest.mark.parametrize(("scheme", "levels"), [("int8", 127), ("int4", 7)])
def test_error_is_at_most_half_a_step_of_each_rows_or_groups_scale(weight, scheme, levels):
    back = decompress(compress("w", weight, scheme), "w")
    if scheme == "int8":
        step = weight.abs().amax(dim=1, keepdim=True) / levels
    else:
        groups = weight.reshape(32, -1, INT4_GROUP).abs().amax(dim=2, keepdim=True) / levels
        step = groups.expand(-1, -1, INT4_GROUP).reshape(32, -1)
    # fp16 scales (int4) add a relative error of 2^-11 on top of rounding's half step.
    assert torch.all((back - weight).abs() <= step * 0.5 * (1 + 2e-3) + 1e-9)
    assert torch.equal(back[0, :5], torch.zeros(5))  # symmetric scales keep zero exact


def test_int4_packs_two_values_a_byte_low_nibble_first():
    w = torch.zeros(1, INT4_GROUP)
    w[0, 0], w[0, 1] = 7.0, -7.0  # scale 1: q = 7 and -7, stored as 15 and 1
    entries = compress("w", w, "int4")
    assert entries["w.int4"].shape == (1, INT4_GROUP // 2) and entries["w.int4"].dtype == torch.uint8
    assert entries["w.int4"][0, 0].item() == 15 | (1 << 4)
    assert entries["w.int4"][0, 1].item() == 8 | (8 << 4)  # zeros


def test_sizes_shrink_by_the_expected_factors(weight):
    sizes = {s: stored_bytes(compress("w", weight, s)) for s in ("fp32", "fp16", "int8", "int4")}
    n = weight.numel()
    assert sizes["fp32"] == 4 * n and sizes["fp16"] == 2 * n
    assert sizes["int8"] == n + 4 * 32
    assert sizes["int4"] == n // 2 + 2 * (n // INT4_GROUP)


def test_state_dict_round_trip_keeps_names_order_and_small_tensors_exact(weight):
    state = {"a.weight": weight, "a.bias": torch.randn(32), "b.weight": torch.randn(3, 3, 2, 2)}
    entries = compress_state_dict(state, lambda name, t: "int8" if t.dim() == 2 else "fp32")
    back = decompress_state_dict(entries)
    assert list(back) == list(state)
    assert torch.equal(back["a.bias"], state["a.bias"]) and torch.equal(back["b.weight"], state["b.weight"])
    assert torch.allclose(back["a.weight"], weight, atol=float(weight.abs().max()) / 127)


def test_bad_requests_say_what_is_wrong():
    with pytest.raises(ValueError, match="2-D"):
        compress("conv", torch.zeros(2, 3, 3, 3), "int8")
    with pytest.raises(ValueError, match="multiple of 64"):
        compress("odd", torch.zeros(2, 10), "int4")
    with pytest.raises(ValueError, match="unknown compression scheme"):
        compress("w", torch.zeros(2, 64), "int3")
    with pytest.raises(KeyError, match="not stored"):
        decompress({}, "w")


def test_int2_codes_are_the_nearest_of_four_levels_at_half_and_one_and_a_half_rms(weight):
    entries = compress("w", weight, "int2")
    back = decompress(entries, "w")
    groups = weight.reshape(32, -1, INT4_GROUP)
    s = (groups.pow(2).mean(dim=2, keepdim=True).sqrt() / 2).half().float()
    levels = torch.tensor([-3.0, -1.0, 1.0, 3.0]) * s.unsqueeze(-1)  # (32, groups, 1, 4)
    nearest = (groups.unsqueeze(-1) - levels).abs().min(dim=-1).values
    assert torch.allclose((back.reshape(groups.shape) - groups).abs(), nearest, atol=1e-7)
    assert entries["w.int2"].shape == (32, weight.shape[1] // 4) and entries["w.int2"].dtype == torch.uint8
    assert stored_bytes(entries) == weight.numel() // 4 + 2 * (weight.numel() // INT4_GROUP)


def test_int2_packs_four_values_a_byte_lowest_bits_first():
    # 24 weights of magnitude 1.5 and 40 of 0.5: mean square 1, so s = 0.5 and the levels are the values.
    w = torch.tensor([-1.5, -0.5, 0.5, 1.5] + [1.5] * 22 + [0.5] * 38).unsqueeze(0)
    entries = compress("w", w, "int2")
    assert entries["w.scale"].item() == 0.5
    assert entries["w.int2"][0, 0].item() == 0 | 1 << 2 | 2 << 4 | 3 << 6  # codes 0, 1, 2, 3
    assert torch.equal(decompress(entries, "w"), w)
