"""Training throughput of the Figure 1 network: this project's pipeline against a plain DataLoader baseline.

Both train the same four-layer CIFAR-10 network (alexnet.relu_tanh.FourLayerNet, ReLU, batch 128,
SGD with momentum 0.9) in the same process, on the same images:

* baseline: what a torchvision CIFAR-10 tutorial does: a Dataset that turns each stored HWC uint8
  image into a PIL image, then ``ToTensor()`` and ``Normalize()`` per image, batched by a
  ``DataLoader`` (shuffle, num_workers=0: extra worker processes only fight for the same 2 cores),
  NCHW tensors;
* ours: the experiment's own loop: uint8 tensors in memory, one fancy-index per batch, one float
  conversion and mean-image subtraction per batch, channels_last (optionally off, optionally
  ``torch.compile``; compile time is reported separately).

Each configuration is measured ``--reps`` times over ``--images`` training images after a short
warm-up; the table shows the median images/s (and the spread). Run:

    .venv/bin/python benchmarks/bench_relu_tanh.py            # real CIFAR-10 if present, else random images
    .venv/bin/python benchmarks/bench_relu_tanh.py --compile  # also torch.compile (slow to compile on 2 cores)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset


class TorchvisionStyleCifar(Dataset):
    """torchvision.datasets.CIFAR10's __getitem__: HWC uint8 -> PIL image -> transform, one image at a time."""

    def __init__(self, data_hwc: np.ndarray, targets: list[int], transform) -> None:
        self.data, self.targets, self.transform = data_hwc, targets, transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.data[i])), self.targets[i]


def _model(channels_last: bool):
    from alexnet.relu_tanh import FourLayerNet

    torch.manual_seed(0)
    m = FourLayerNet("relu").init_weights_("layers-19pct")
    return m.to(memory_format=torch.channels_last) if channels_last else m


def _step(model, opt, x, y) -> None:
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def bench_baseline(images_u8: torch.Tensor, labels: torch.Tensor, n_images: int, reps: int, bs: int) -> list[float]:
    from torchvision import transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.4914, 0.4822, 0.4465),
                                                                         (0.2470, 0.2435, 0.2616))])
    ds = TorchvisionStyleCifar(images_u8.permute(0, 2, 3, 1).numpy(), labels.tolist(), tf)
    loader = DataLoader(ds, batch_size=bs, shuffle=True, num_workers=0, drop_last=True)
    model = _model(False)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    it = iter(loader)

    def batch():
        nonlocal it
        try:
            return next(it)
        except StopIteration:
            it = iter(loader)
            return next(it)

    for _ in range(3):
        _step(model, opt, *batch())
    rates = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(n_images // bs):
            _step(model, opt, *batch())
        rates.append((n_images // bs) * bs / (time.perf_counter() - t))
    return rates


def bench_ours(images_u8: torch.Tensor, labels: torch.Tensor, n_images: int, reps: int, bs: int,
               channels_last: bool, compile_model: bool = False) -> tuple[list[float], float]:
    mean = images_u8.double().mean(0, keepdim=True).float()
    model = _model(channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    fwd = torch.compile(model) if compile_model else model
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(labels), generator=g)
    pos = 0

    def batch():
        nonlocal perm, pos
        if pos + bs > len(perm):
            perm, pos = torch.randperm(len(labels), generator=g), 0
        idx = perm[pos:pos + bs]
        pos += bs
        x = images_u8[idx].float().sub_(mean)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, labels[idx]

    t0 = time.perf_counter()
    for _ in range(3):
        _step(fwd, opt, *batch())
    warmup_s = time.perf_counter() - t0
    rates = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(n_images // bs):
            _step(fwd, opt, *batch())
        rates.append((n_images // bs) * bs / (time.perf_counter() - t))
    return rates, warmup_s


def _load(data_root: str | None, n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    try:
        from alexnet.cifar10 import load_cifar10

        d = load_cifar10(data_root)
        return d.train_images[:n].clone(), d.train_labels[:n].clone(), f"CIFAR-10 ({d.source}), first {n}"
    except Exception as exc:  # noqa: BLE001 - the benchmark still runs without the data
        g = torch.Generator().manual_seed(0)
        return (torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                torch.randint(0, 10, (n,), generator=g), f"random uint8 images ({type(exc).__name__})")


def _fmt(rates: list[float]) -> str:
    return f"{statistics.median(rates):7.0f} img/s  (min {min(rates):.0f}, max {max(rates):.0f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=2560, help="training images per repetition (default 2560)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions per configuration (default 5)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts (default 1 2)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--compile", action="store_true", help="also measure torch.compile (compile time reported)")
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()

    images, labels, source = _load(args.data_root, 10000)
    cpu = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    print(f"machine: {cpu}, {os.cpu_count()} logical cores; torch {torch.__version__}; data: {source}")
    print(f"batch {args.batch_size}, {args.images} images x {args.reps} repetitions per row; "
          f"load average at start {os.getloadavg()[0]:.1f}")
    results = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        rows = [("baseline: DataLoader + PIL + ToTensor/Normalize, NCHW",
                 bench_baseline(images, labels, args.images, args.reps, args.batch_size)),
                ("ours: uint8 in memory, batched, NCHW",
                 bench_ours(images, labels, args.images, args.reps, args.batch_size, False)[0]),
                ("ours: uint8 in memory, batched, channels_last",
                 bench_ours(images, labels, args.images, args.reps, args.batch_size, True)[0])]
        if args.compile:
            rates, warm = bench_ours(images, labels, args.images, args.reps, args.batch_size, True, True)
            rows.append((f"ours + torch.compile, channels_last (compile+warm-up {warm:.0f}s)", rates))
        for name, rates in rows:
            results[(threads, name)] = statistics.median(rates)
            print(f"threads={threads}  {name:62s} {_fmt(rates)}")
    base = max(v for (t, n), v in results.items() if n.startswith("baseline"))
    best_key = max((k for k in results if not k[1].startswith("baseline")), key=results.get)
    print(f"best: threads={best_key[0]} {best_key[1]}: {results[best_key]:.0f} img/s = "
          f"{results[best_key] / base:.2f}x the best baseline ({base:.0f} img/s); "
          f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
