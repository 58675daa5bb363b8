"""The paper's update rule (section 5) against hand computation and torch.optim.SGD; the plateau schedule."""

from __future__ import annotations

import math

import pytest
import torch

from alexnet.config import TrainConfig
from alexnet.optim import PaperSGD, PlateauSchedule, make_optimizer


def _step(optimizer, param, grad):
    param.grad = torch.as_tensor(grad, dtype=param.dtype).reshape(param.shape).clone()
    optimizer.step()


def test_paper_sgd_matches_hand_computation():
    # lr 0.1, momentum 0.9, weight decay 0.01, w0 = 1, gradients 0.5 then -0.2:
    # v1 = 0 - 0.01*0.1*1 - 0.1*0.5            = -0.051      w1 = 0.949
    # v2 = 0.9*(-0.051) - 0.01*0.1*0.949 + 0.02 = -0.026849   w2 = 0.922151
    w = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = PaperSGD([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    _step(opt, w, [0.5])
    assert w.item() == pytest.approx(0.949, abs=1e-15)
    assert opt.state[w]["velocity"].item() == pytest.approx(-0.051, abs=1e-15)
    _step(opt, w, [-0.2])
    assert opt.state[w]["velocity"].item() == pytest.approx(-0.026849, abs=1e-15)
    assert w.item() == pytest.approx(0.922151, abs=1e-15)


def test_paper_sgd_hand_computation_after_lr_drop():
    # Same start, then the learning rate drops to 0.01 before the second step:
    # v2 = 0.9*(-0.051) - 0.01*0.01*0.949 + 0.01*0.2 = -0.0459 - 0.0000949 + 0.002 = -0.0439949
    w = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = PaperSGD([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    _step(opt, w, [0.5])
    opt.param_groups[0]["lr"] = 0.01
    _step(opt, w, [-0.2])
    assert w.item() == pytest.approx(0.949 - 0.0439949, abs=1e-15)


def _run_both(grads, lrs, weight_decay=5e-4, momentum=0.9):
    w0 = torch.randn(7, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    paper_w = torch.nn.Parameter(w0.clone())
    torch_w = torch.nn.Parameter(w0.clone())
    paper = PaperSGD([paper_w], lr=lrs[0], momentum=momentum, weight_decay=weight_decay)
    reference = torch.optim.SGD([torch_w], lr=lrs[0], momentum=momentum, weight_decay=weight_decay)
    history = []
    for grad, lr in zip(grads, lrs, strict=True):
        paper.param_groups[0]["lr"] = lr
        reference.param_groups[0]["lr"] = lr
        _step(paper, paper_w, grad)
        _step(reference, torch_w, grad)
        history.append((paper_w.detach().clone(), torch_w.detach().clone()))
    return history, paper, reference, paper_w, torch_w


def test_paper_sgd_equals_torch_sgd_while_lr_is_constant():
    grads = torch.randn(20, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    history, *_ = _run_both(list(grads), [0.01] * 20)
    for paper_w, torch_w in history:
        torch.testing.assert_close(paper_w, torch_w, rtol=0, atol=1e-14)


def test_paper_sgd_differs_from_torch_sgd_after_lr_drop_by_the_rescaled_momentum():
    grads = list(torch.randn(6, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3)))
    lrs = [0.01, 0.01, 0.01, 0.001, 0.001, 0.001]
    # Stop just before the drop to know both states, then take the first step after it.
    history, paper, reference, paper_w, torch_w = _run_both(grads[:3], lrs[:3])
    torch.testing.assert_close(paper_w.detach(), torch_w.detach(), rtol=0, atol=1e-14)
    buffer = reference.state[torch_w]["momentum_buffer"].clone()  # torch: velocity = -lr_old * buffer
    for lr, grad in zip(lrs[3:4], grads[3:4], strict=True):
        paper.param_groups[0]["lr"] = lr
        reference.param_groups[0]["lr"] = lr
        _step(paper, paper_w, grad)
        _step(reference, torch_w, grad)
    # paper: w + 0.9*(-0.01*b) - 0.001*(g + wd*w);  torch: w - 0.001*(0.9*b + g + wd*w)
    # difference (paper - torch) = 0.9 * b * (0.001 - 0.01)
    difference = paper_w.detach() - torch_w.detach()
    torch.testing.assert_close(difference, 0.9 * buffer * (0.001 - 0.01), rtol=1e-9, atol=1e-15)
    assert difference.abs().max() > 1e-6
    # and the trajectories stay apart afterwards
    _step(paper, paper_w, grads[4])
    _step(reference, torch_w, grads[4])
    assert not torch.allclose(paper_w, torch_w, rtol=0, atol=1e-9)


def test_paper_sgd_skips_params_without_grad_and_round_trips_state():
    a = torch.nn.Parameter(torch.ones(3))
    b = torch.nn.Parameter(torch.ones(3))
    opt = PaperSGD([a, b], lr=0.1)
    a.grad = torch.ones(3)
    opt.step()
    assert torch.equal(b.detach(), torch.ones(3))
    assert b not in opt.state
    restored = PaperSGD([a, b], lr=0.1)
    restored.load_state_dict(opt.state_dict())
    torch.testing.assert_close(restored.state[a]["velocity"], opt.state[a]["velocity"])


@pytest.mark.parametrize("bad", [{"lr": 0}, {"momentum": 1.0}, {"weight_decay": -1}])
def test_paper_sgd_rejects_bad_hyperparameters(bad):
    with pytest.raises(ValueError):
        PaperSGD([torch.nn.Parameter(torch.ones(1))], **bad)


def test_make_optimizer_follows_config():
    params = [torch.nn.Parameter(torch.ones(2))]
    paper = make_optimizer(params, TrainConfig())
    assert isinstance(paper, PaperSGD)
    assert paper.defaults == {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}
    plain = make_optimizer(params, TrainConfig(update_rule="torch", lr=0.05))
    assert type(plain) is torch.optim.SGD
    assert plain.param_groups[0]["lr"] == 0.05


def test_plateau_schedule_drops_after_patience_and_at_most_max_drops():
    opt = PaperSGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    schedule = PlateauSchedule(opt, factor=10, patience=2, max_drops=2)
    errors = [0.9, 0.8, 0.8, 0.85,  # two epochs without improvement -> drop 1 (lr 0.1)
              0.7, 0.75, 0.7,       # 0.7 is not below best 0.7 -> drop 2 (lr 0.01)
              0.9, 0.9, 0.9, 0.9]   # no more drops
    drops = [schedule.step(e) for e in errors]
    assert drops == [False, False, False, True, False, False, True, False, False, False, False]
    assert schedule.lr == pytest.approx(0.01)
    assert schedule.drops == 2
    assert schedule.best == 0.7


def test_plateau_schedule_state_round_trip():
    opt = PaperSGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    schedule = PlateauSchedule(opt, patience=3)
    for e in (0.5, 0.6, 0.6):
        schedule.step(e)
    fresh = PlateauSchedule(opt, patience=3)
    fresh.load_state_dict(schedule.state_dict())
    assert fresh.state_dict() == schedule.state_dict()
    assert fresh.step(0.7) is True  # third epoch without improvement
    fresh_inf = PlateauSchedule(opt)
    assert fresh_inf.best == math.inf
