"""Row 2: paper AlexNet inference at 227x227, the project's model vs the same layers written plainly.

The baseline is the popular write-up's style: one ``nn.Sequential`` of ``nn.Conv2d`` / ``nn.ReLU`` /
``torch.nn.LocalResponseNorm`` / ``nn.MaxPool2d`` / ``nn.Linear`` with the project model's weights
copied in (single tower, so torch's LRN applies unchanged). Both run in eval mode under
``torch.no_grad()``; the script first checks that they return the same logits.

It also times ``explorer.activations.capture_activations`` (what the dashboard calls: one forward
pass with hooks that keep every feature layer's output plus the logits, copying an output only
before an in-place module would overwrite it) against a plain forward pass of the same model.
Target: capturing every layer costs at most 15% more. The check below also compares every captured
layer with a fresh layer-by-layer run.

    .venv/bin/python benchmarks/bench_inference.py              # batches 1 and 64, threads 1 and 2
    .venv/bin/python benchmarks/bench_inference.py --batches 1 --threads 1 --reps 3
"""

from __future__ import annotations

import _common
import torch
from torch import nn

from alexnet import AlexNet
from explorer.activations import capture_activations


def plain_alexnet(model: AlexNet) -> nn.Sequential:
    """The same network as plain torch.nn modules, weights copied from ``model`` (one tower)."""
    lrn = model.layer("lrn1")
    plain = nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(inplace=True),
        nn.LocalResponseNorm(5, alpha=lrn.effective_alpha * 5, beta=0.75, k=2.0),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(inplace=True),
        nn.LocalResponseNorm(5, alpha=lrn.effective_alpha * 5, beta=0.75, k=2.0),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, model.config.num_classes),
    )
    ours = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    theirs = [m for m in plain if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for src, dst in zip(ours, theirs, strict=True):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
    return plain.eval()


def check_same_logits(model: AlexNet, plain: nn.Module) -> str:
    torch.manual_seed(1)
    x = torch.rand(2, 3, 227, 227) * 255 - 120  # the paper's 0..255 scale minus a mean
    with torch.no_grad():
        a, b = model(x), plain(x)
        captured = capture_activations(model, x)
        fresh, layers = x, {}
        for name, module in model.features.named_children():
            fresh = module(fresh.clone())  # a private copy: no in-place ReLU can reach the stored ones
            layers[name] = fresh.clone()
    scale = a.abs().max().item()
    diff = (a - b).abs().max().item()
    if diff > 1e-4 * max(scale, 1.0) or not torch.allclose(captured["logits"], a):
        raise SystemExit(f"logits differ: max |diff| {diff:.3g} at scale {scale:.3g}")
    wrong = [name for name in layers if name in captured and not torch.equal(captured[name], layers[name])]
    if wrong or not set(layers) & set(captured):
        raise SystemExit(f"captured activations differ from a layer-by-layer run: {wrong}")
    return (
        f"same logits as the plain model (max |diff| {diff:.2g}, logits up to {scale:.3g}); "
        f"capture_activations returns {len(captured)} tensors, every layer equal to a layer-by-layer run"
    )


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], reps=9)
    parser.add_argument("--batches", default="1,64", help="comma-separated batch sizes (default 1,64)")
    args = parser.parse_args()
    print(_common.machine_line())
    torch.manual_seed(0)
    model = AlexNet().eval()  # paper init; single tower
    plain = plain_alexnet(model)
    print(check_same_logits(model, plain))
    rows = []
    for threads in _common.thread_counts(args.threads):
        torch.set_num_threads(threads)
        for batch in (int(b) for b in args.batches.split(",")):
            x = torch.rand(batch, 3, 227, 227) * 255 - 120
            with torch.no_grad():
                times = _common.interleaved(
                    {
                        "plain": lambda x=x: plain(x),
                        "ours": lambda x=x: model(x),
                        "capture": lambda x=x: capture_activations(model, x),
                    },
                    reps=args.reps,
                )
            med = {name: _common.median(t) for name, t in times.items()}
            cpu = {name: _common.median(t) for name, t in times.cpu.items()}
            rows.append([
                batch, threads,
                f"{med['plain'] * 1e3:.0f} ({_common.spread(times['plain'])})",
                f"{med['ours'] * 1e3:.0f} ({_common.spread(times['ours'])})",
                f"**{med['plain'] / med['ours']:.2f}x**",
                f"{batch / med['ours']:.1f}",
                f"{med['capture'] * 1e3:.0f} ({_common.spread(times['capture'])})",
                f"**{(med['capture'] / med['ours'] - 1) * 100:+.0f}%**",
                f"{cpu['plain'] * 1e3:.0f} / {cpu['ours'] * 1e3:.0f} / {cpu['capture'] * 1e3:.0f}",
                f"{cpu['plain'] / cpu['ours']:.2f}x", f"{(cpu['capture'] / cpu['ours'] - 1) * 100:+.0f}%",
            ])
    print(f"\nmedians of {args.reps} interleaved repetitions, ms per batch (min..max); cpu = process CPU time")
    headers = ["batch", "threads", "plain nn ms", "ours ms", "speed-up", "ours img/s"]
    headers += ["capture all ms", "capture overhead"]
    headers += ["cpu ms plain/ours/capture", "cpu speed-up", "cpu capture overhead"]
    _common.print_table(headers, rows)


if __name__ == "__main__":
    main()
