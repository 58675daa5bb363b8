"""LRN against torch.nn.LocalResponseNorm (the trusted reference) and a hand computation."""

import pytest
import torch

from alexnet import LocalResponseNorm


@pytest.mark.parametrize("shape", [(2, 96, 55, 55), (3, 256, 13, 13), (2, 7, 3, 3)])
@pytest.mark.parametrize("size", [5, 4, 1])
def test_forward_and_gradient_match_torch_reference(shape, size):
    torch.manual_seed(0)
    # ReLU outputs of conv1 reach tens to hundreds on the 0..255 input scale: test where LRN bites.
    x = (torch.randn(shape, dtype=torch.float64) * 50).relu().requires_grad_()
    ref = torch.nn.LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=2.0)
    mine = LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=2.0, alpha_convention="cuda-convnet")
    a, b = ref(x), mine(x)
    assert torch.allclose(a, b, atol=1e-6, rtol=0)
    g = torch.randn_like(a)
    (ga,) = torch.autograd.grad(a, x, g)
    (gb,) = torch.autograd.grad(b, x, g)
    assert torch.allclose(ga, gb, atol=1e-6, rtol=0)


def test_float32_matches_reference_to_1e6_relative():
    torch.manual_seed(1)
    x = (torch.randn(4, 96, 55, 55) * 50).relu().requires_grad_()
    ref = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
    a, b = ref(x), LocalResponseNorm()(x)
    assert torch.allclose(a, b, rtol=1e-6, atol=1e-6)
    g = torch.randn_like(a)
    (ga,) = torch.autograd.grad(a, x, g)
    (gb,) = torch.autograd.grad(b, x, g)
    assert torch.allclose(ga, gb, rtol=1e-5, atol=1e-6)


def test_gradcheck():
    x = (torch.randn(1, 6, 2, 2, dtype=torch.float64) * 30).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: LocalResponseNorm(5, alpha=0.5, beta=0.75, k=2.0)(t), (x,))
    assert torch.autograd.gradcheck(lambda t: LocalResponseNorm(4, alpha=0.5, beta=0.6, k=1.0)(t), (x,))


def test_hand_computed_paper_convention():
    # 5 channels at one pixel, n=5: channel 2's window covers all five, channel 0's covers 0..2.
    a = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64).view(1, 5, 1, 1)
    lrn = LocalResponseNorm(5, alpha=0.1, beta=0.5, k=2.0, alpha_convention="paper")
    out = lrn(a).flatten()
    assert out[2].item() == pytest.approx(3.0 / (2.0 + 0.1 * (1 + 4 + 9 + 16 + 25)) ** 0.5)
    assert out[0].item() == pytest.approx(1.0 / (2.0 + 0.1 * (1 + 4 + 9)) ** 0.5)
    per_n = LocalResponseNorm(5, alpha=0.1, beta=0.5, k=2.0, alpha_convention="cuda-convnet")
    assert per_n(a).flatten()[2].item() == pytest.approx(3.0 / (2.0 + 0.02 * 55) ** 0.5)


def test_paper_convention_equals_torch_with_alpha_times_n():
    x = (torch.randn(2, 12, 4, 4) * 40).relu()
    ref = torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
    assert torch.allclose(LocalResponseNorm(alpha_convention="paper")(x), ref(x), rtol=1e-6, atol=1e-6)


def test_groups_keep_window_inside_each_tower():
    x = (torch.randn(2, 96, 5, 5) * 50).relu()
    grouped = LocalResponseNorm(groups=2)(x)
    ref = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
    separate = torch.cat([ref(x[:, :48]), ref(x[:, 48:])], dim=1)
    assert torch.allclose(grouped, separate, rtol=1e-6, atol=1e-6)
    # ... which differs from one window across all 96 channels at the boundary.
    assert not torch.allclose(grouped[:, 46:50], ref(x)[:, 46:50])


def test_channels_last_input():
    x = (torch.randn(2, 16, 6, 6) * 50).relu()
    expected = LocalResponseNorm()(x)
    got = LocalResponseNorm()(x.to(memory_format=torch.channels_last))
    assert torch.allclose(got, expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match="alpha_convention"):
        LocalResponseNorm(alpha_convention="caffe")
    with pytest.raises(ValueError, match="groups"):
        LocalResponseNorm(groups=2)(torch.randn(1, 5, 2, 2))


@pytest.mark.parametrize("beta", [0.6, 0.5, 1.0])
@pytest.mark.parametrize("size", [5, 4, 2])
def test_general_beta_path_matches_torch_reference(beta, size):
    # beta=0.75 takes the rsqrt/sqrt fast path; any other beta goes through pow.
    torch.manual_seed(2)
    x = (torch.randn(2, 24, 5, 5, dtype=torch.float64) * 50).relu().requires_grad_()
    ref = torch.nn.LocalResponseNorm(size, alpha=1e-3, beta=beta, k=1.5)
    mine = LocalResponseNorm(size, alpha=1e-3, beta=beta, k=1.5)
    a, b = ref(x), mine(x)
    assert torch.allclose(a, b, atol=1e-10, rtol=0)
    g = torch.randn_like(a)
    (ga,) = torch.autograd.grad(a, x, g)
    (gb,) = torch.autograd.grad(b, x, g)
    assert torch.allclose(ga, gb, atol=1e-10, rtol=0)


def test_input_untouched_and_backward_repeatable():
    # The fast path works in place on its own buffers only: the input stays as it was, and a
    # retained graph gives the same gradient twice (saved tensors were not overwritten).
    x = (torch.randn(2, 10, 3, 3, dtype=torch.float64) * 50).relu().requires_grad_()
    before = x.detach().clone()
    out = LocalResponseNorm()(x)
    assert torch.equal(x.detach(), before)
    g = torch.randn_like(out)
    (first,) = torch.autograd.grad(out, x, g, retain_graph=True)
    (second,) = torch.autograd.grad(out, x, g)
    assert torch.equal(first, second)


def test_channels_last_gradient_and_no_grad_output():
    torch.manual_seed(3)
    x = (torch.randn(2, 16, 6, 6, dtype=torch.float64) * 50).relu()
    ref = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
    xc = x.to(memory_format=torch.channels_last).requires_grad_()
    g = torch.randn_like(x)
    (got,) = torch.autograd.grad(LocalResponseNorm()(xc), xc, g)
    xr = x.clone().requires_grad_()
    (expected,) = torch.autograd.grad(ref(xr), xr, g)
    assert torch.allclose(got, expected, atol=1e-10, rtol=0)
    with torch.no_grad():
        assert torch.allclose(LocalResponseNorm()(x), ref(x), atol=1e-10, rtol=0)


@pytest.mark.parametrize("beta", [0.75, 0.6])
def test_channels_last_with_towers_keeps_layout_and_matches_reference(beta):
    # Towers are channel slices inside the autograd function, so a channels_last input is used as
    # it is (no copy to NCHW) and the output stays channels_last for the next convolution.
    torch.manual_seed(4)
    x = (torch.randn(2, 24, 5, 5, dtype=torch.float64) * 50).relu()
    ref = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=beta, k=2.0)
    xr = x.clone().requires_grad_()
    expected = torch.cat([ref(xr[:, :12]), ref(xr[:, 12:])], dim=1)
    xc = x.to(memory_format=torch.channels_last).requires_grad_()
    got = LocalResponseNorm(beta=beta, groups=2)(xc)
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(got, expected, atol=1e-10, rtol=0)
    g = torch.randn_like(expected)
    (ga,) = torch.autograd.grad(expected, xr, g)
    (gb,) = torch.autograd.grad(got, xc, g)
    assert torch.allclose(ga, gb, atol=1e-10, rtol=0)


def test_towers_gradcheck():
    x = (torch.randn(1, 8, 2, 2, dtype=torch.float64) * 30).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: LocalResponseNorm(3, alpha=0.5, beta=0.75, k=2.0, groups=2)(t), (x,))
    assert torch.autograd.gradcheck(lambda t: LocalResponseNorm(4, alpha=0.5, beta=0.6, k=1.0, groups=4)(t), (x,))
