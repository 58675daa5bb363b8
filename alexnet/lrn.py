"""Local Response Normalization (Krizhevsky et al. 2012, section 3.3).

    b_i = a_i / (k + alpha' * sum_{j in window of n around i} a_j^2) ** beta

The paper prints the formula with ``alpha' = alpha``. The authors' own code
(cuda-convnet), Caffe and ``torch.nn.LocalResponseNorm`` all use
``alpha' = alpha / n``. Both are selectable through ``alpha_convention``; the
default is ``"cuda-convnet"`` because that is the code that produced the
paper's numbers (and what every framework's LRN layer means), so with the
paper's alpha=1e-4 the normalisation is as weak as the published models had it.

This module computes the same function as ``torch.nn.LocalResponseNorm`` but
with a hand-written backward pass: the reference builds its window sum from
``avg_pool3d`` and lets autograd record every intermediate, while here the
forward saves only the input and the denominator and the gradient is one
closed-form expression (see ``_LRNFunction.backward``). ``groups`` keeps the
window inside each tower of the two-GPU network, as on the paper's GPUs.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

AlphaConvention = Literal["cuda-convnet", "paper"]
ALPHA_CONVENTIONS: tuple[str, ...] = ("cuda-convnet", "paper")


def _channel_window_sum(x: Tensor, front: int, back: int) -> Tensor:
    """Sum of ``x`` over channels ``c - front .. c + back`` (zero outside) for each c.

    ``x`` has shape (N, C, ...). Adding shifted slices of a padded copy is
    exact (no cumulative-sum cancellation) and for the paper's n=5 costs four adds.
    """
    if front == 0 and back == 0:
        return x
    channels = x.shape[1]
    padded = F.pad(x.flatten(2), (0, 0, front, back))
    out = padded[:, 0:channels].clone()
    for offset in range(1, front + back + 1):
        out += padded[:, offset : offset + channels]
    return out.view_as(x)


class _LRNFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, size: int, alpha: float, beta: float, k: float) -> Tensor:
        # Same window as torch.nn.LocalResponseNorm: size//2 before, (size-1)//2 after.
        front, back = size // 2, (size - 1) // 2
        denom = _channel_window_sum(x * x, front, back).mul_(alpha).add_(k)
        out = x * denom.pow(-beta)
        ctx.save_for_backward(x, denom, out)
        ctx.window = (front, back)
        ctx.alpha, ctx.beta = alpha, beta
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, denom, out = ctx.saved_tensors
        front, back = ctx.window
        # d b_i / d a_j = delta_ij d_i^-beta - 2 alpha beta a_j a_i d_i^(-beta-1) [j in W(i)],
        # so the second term sums grad*out/denom over the *mirrored* window around j.
        weighted = grad_out * out / denom
        spread = _channel_window_sum(weighted, back, front)
        grad_in = grad_out * denom.pow(-ctx.beta) - (2.0 * ctx.alpha * ctx.beta) * x * spread
        return grad_in, None, None, None, None


class LocalResponseNorm(nn.Module):
    """Cross-channel LRN with the paper's defaults (k=2, n=5, alpha=1e-4, beta=0.75).

    Args:
        size: n, the number of adjacent channels in the window.
        alpha: the scale as printed in the paper (1e-4).
        beta: the exponent.
        k: the additive constant.
        alpha_convention: ``"cuda-convnet"`` divides alpha by n (authors' code,
            Caffe, torch); ``"paper"`` uses alpha as printed.
        groups: split the channels into this many independent blocks so the
            window never crosses a tower boundary (2 for the two-GPU network).
    """

    def __init__(
        self,
        size: int = 5,
        alpha: float = 1e-4,
        beta: float = 0.75,
        k: float = 2.0,
        alpha_convention: AlphaConvention = "cuda-convnet",
        groups: int = 1,
    ) -> None:
        super().__init__()
        if alpha_convention not in ALPHA_CONVENTIONS:
            raise ValueError(
                f"alpha_convention must be one of {ALPHA_CONVENTIONS}, got {alpha_convention!r}"
            )
        if size < 1 or groups < 1:
            raise ValueError("size and groups must be positive")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k
        self.alpha_convention = alpha_convention
        self.groups = groups

    @property
    def effective_alpha(self) -> float:
        """The factor that multiplies the window's sum of squares."""
        return self.alpha / self.size if self.alpha_convention == "cuda-convnet" else self.alpha

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 3:
            raise ValueError(f"LRN expects (N, C, ...) input, got shape {tuple(x.shape)}")
        n, c = x.shape[:2]
        if c % self.groups:
            raise ValueError(f"{c} channels do not split into {self.groups} groups")
        # Grouping folds the towers into the batch dimension; contiguous() keeps
        # channels_last inputs working with the flat channel-window sum.
        grouped = x.contiguous().reshape(n * self.groups, c // self.groups, *x.shape[2:])
        out = _LRNFunction.apply(grouped, self.size, self.effective_alpha, self.beta, self.k)
        return out.reshape(x.shape)

    def extra_repr(self) -> str:
        return (
            f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}, "
            f"alpha_convention={self.alpha_convention!r}, groups={self.groups}"
        )
