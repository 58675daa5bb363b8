"""Row 1: LRN forward+backward, alexnet.LocalResponseNorm vs torch.nn.LocalResponseNorm.

Shapes are AlexNet's two LRN inputs: conv1's ReLU output (N, 96, 55, 55) and conv2's
(N, 256, 27, 27). Before timing, the script checks that both give the same output and
gradient (float32: 1e-6 relative+absolute on the output, 1e-5 relative on the gradient as in
tests/alexnet/test_lrn.py; float64: 1e-6 absolute on both).

    .venv/bin/python benchmarks/bench_lrn.py            # batch 64, threads 1 and 2
    .venv/bin/python benchmarks/bench_lrn.py --batch 32 --threads 1 --reps 3
"""

from __future__ import annotations

import _common
import torch

from alexnet import LocalResponseNorm

SHAPES = {"conv1 (N,96,55,55)": (96, 55, 55), "conv2 (N,256,27,27)": (256, 27, 27)}


def paper_lrns() -> tuple[torch.nn.Module, torch.nn.Module]:
    reference = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
    ours = LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0, alpha_convention="cuda-convnet")
    return reference, ours


def relu_like(shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    # conv1's ReLU outputs reach tens to hundreds on the paper's 0..255 input scale.
    return (torch.randn(shape, dtype=dtype) * 50).relu_()


def check_same_results() -> str:
    reference, ours = paper_lrns()
    torch.manual_seed(0)
    for dtype, out_tol, grad_rtol in ((torch.float64, 0.0, 0.0), (torch.float32, 1e-6, 1e-5)):
        for channels, h, w in SHAPES.values():
            x = relu_like((2, channels, h, w), dtype).requires_grad_()
            a, b = reference(x), ours(x)
            g = torch.randn_like(a)
            (ga,) = torch.autograd.grad(a, x, g)
            (gb,) = torch.autograd.grad(b, x, g)
            same_out = torch.allclose(a, b, rtol=out_tol, atol=1e-6)
            if not (same_out and torch.allclose(ga, gb, rtol=grad_rtol, atol=1e-6)):
                raise SystemExit(f"LRN results differ from torch.nn.LocalResponseNorm ({dtype}, C={channels})")
    return "outputs and gradients match torch.nn.LocalResponseNorm (float64 to 1e-6 abs, float32 to 1e-6/1e-5)"


def measure(reference: torch.nn.Module, ours: torch.nn.Module, shape: tuple[int, ...], reps: int):
    """Interleaved timings (seconds) of forward+backward and of forward alone under no_grad."""
    torch.manual_seed(0)
    x = relu_like(shape).requires_grad_()
    g = torch.randn_like(x)

    def forward_backward(module: torch.nn.Module) -> None:
        x.grad = None
        module(x).backward(g)

    train = _common.interleaved(
        {"torch": lambda: forward_backward(reference), "ours": lambda: forward_backward(ours)}, reps=reps
    )
    with torch.no_grad():
        infer = _common.interleaved({"torch": lambda: reference(x), "ours": lambda: ours(x)}, reps=reps)
    return train, infer


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="batch size N (default 64)")
    args = parser.parse_args()
    print(_common.machine_line())
    print(check_same_results())
    reference, ours = paper_lrns()
    rows = []
    for threads in _common.thread_counts(args.threads):
        torch.set_num_threads(threads)
        for label, (channels, h, w) in SHAPES.items():
            train, infer = measure(reference, ours, (args.batch, channels, h, w), args.reps)
            t_ref, t_ours = _common.median(train["torch"]), _common.median(train["ours"])
            f_ref, f_ours = _common.median(infer["torch"]), _common.median(infer["ours"])
            c_ref, c_ours = _common.median(train.cpu["torch"]), _common.median(train.cpu["ours"])
            rows.append([
                label.replace("N", str(args.batch), 1), threads,
                f"{t_ref * 1e3:.0f} ({_common.spread(train['torch'])})",
                f"{t_ours * 1e3:.0f} ({_common.spread(train['ours'])})",
                f"**{t_ref / t_ours:.2f}x**",
                f"{c_ref * 1e3:.0f} / {c_ours * 1e3:.0f}", f"{c_ref / c_ours:.2f}x",
                f"{f_ref * 1e3:.0f} / {f_ours * 1e3:.0f}", f"{f_ref / f_ours:.2f}x",
            ])
    print(f"\nmedians of {args.reps} interleaved repetitions, milliseconds (min..max); cpu = process CPU time")
    headers = ["shape", "threads", "torch fwd+bwd ms", "ours fwd+bwd ms", "speed-up"]
    headers += ["cpu ms torch/ours", "cpu speed-up", "fwd only ms torch/ours", "fwd speed-up"]
    _common.print_table(headers, rows)


if __name__ == "__main__":
    main()
