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
warm-up, candidates alternating within each repetition; the table shows the median images/s of
wall time (and its spread) and images per CPU-second of this process (fairer on a loaded machine). Run:

    .venv/bin/python benchmarks/bench_relu_tanh.py            # real CIFAR-10 if present, else random images
    .venv/bin/python benchmarks/bench_relu_tanh.py --compile  # also torch.compile (slow to compile on 2 cores)
    .venv/bin/python benchmarks/bench_relu_tanh.py --quick-runs 3 --reps 0  # wall time of `alexnet relu-tanh --quick`
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from _common import base_parser, machine_line, median, print_table, thread_counts
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


def baseline_trainer(images_u8: torch.Tensor, labels: torch.Tensor, steps: int, bs: int):
    """A callable that trains ``steps`` batches the tutorial way (see module docstring)."""
    from torchvision import transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.4914, 0.4822, 0.4465),
                                                                         (0.2470, 0.2435, 0.2616))])
    ds = TorchvisionStyleCifar(images_u8.permute(0, 2, 3, 1).numpy(), labels.tolist(), tf)
    loader = DataLoader(ds, batch_size=bs, shuffle=True, num_workers=0, drop_last=True)
    model = _model(False)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    state = {"it": iter(loader)}

    def batch():
        try:
            return next(state["it"])
        except StopIteration:
            state["it"] = iter(loader)
            return next(state["it"])

    def run() -> None:
        for _ in range(steps):
            _step(model, opt, *batch())

    return run


def our_trainer(images_u8: torch.Tensor, labels: torch.Tensor, steps: int, bs: int, channels_last: bool,
                compile_model: bool = False):
    """A callable that trains ``steps`` batches the way alexnet.relu_tanh does."""
    mean = images_u8.double().mean(0, keepdim=True).float()
    model = _model(channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    fwd = torch.compile(model) if compile_model else model
    g = torch.Generator().manual_seed(0)
    state = {"perm": torch.randperm(len(labels), generator=g), "pos": 0}

    def batch():
        if state["pos"] + bs > len(state["perm"]):
            state["perm"], state["pos"] = torch.randperm(len(labels), generator=g), 0
        idx = state["perm"][state["pos"]:state["pos"] + bs]
        state["pos"] += bs
        x = images_u8[idx].float().sub_(mean)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, labels[idx]

    def run() -> None:
        for _ in range(steps):
            _step(fwd, opt, *batch())

    return run


def _interleaved_wall_and_cpu(candidates: dict, reps: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and process-CPU seconds per call, candidates alternating within each repetition (after one warm-up).

    CPU seconds are the fairer measure on a loaded machine: other processes stretch the wall time of
    whichever candidate they happen to overlap, but not the CPU time it needs.
    """
    for fn in candidates.values():
        fn()
    wall: dict[str, list[float]] = {n: [] for n in candidates}
    cpu: dict[str, list[float]] = {n: [] for n in candidates}
    for _ in range(reps):
        for name, fn in candidates.items():
            c, t = time.process_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return wall, cpu


def _load(data_root: str | None, n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    try:
        from alexnet.data.cifar10 import load_cifar10

        d = load_cifar10(data_root)
        return d.train_images[:n].clone(), d.train_labels[:n].clone(), f"CIFAR-10 ({d.source}), first {n}"
    except Exception as exc:  # noqa: BLE001 - the benchmark still runs without the data
        g = torch.Generator().manual_seed(0)
        return (torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                torch.randint(0, 10, (n,), generator=g), f"random uint8 images ({type(exc).__name__})")


def time_quick_runs(runs: int, data_root: str | None) -> None:
    """Wall time of the complete quick experiment, as `alexnet relu-tanh --quick` runs it (fresh output each time)."""
    import tempfile

    from alexnet_cli import main as alexnet_main

    walls = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            argv = ["--quick", "--out", out] + (["--data-root", data_root] if data_root else [])
            start = time.perf_counter()
            if alexnet_main(["relu-tanh", *argv]) != 0:
                raise SystemExit("alexnet relu-tanh --quick failed")
            walls.append(time.perf_counter() - start)
    print(f"alexnet relu-tanh --quick: median wall time {median(walls):.1f} s over {runs} run(s) "
          f"({', '.join(f'{w:.1f}' for w in walls)} s), threads chosen by its own probe")


def main() -> None:
    ap = base_parser(__doc__.split("\n\n")[0], reps=5)
    ap.add_argument("--images", type=int, default=2560, help="training images per repetition (default 2560)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--compile", action="store_true", help="also measure torch.compile (compile time reported)")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--quick-runs", type=int, default=0,
                    help="also time the whole `alexnet relu-tanh --quick` this many times (data load included)")
    args = ap.parse_args()
    if args.quick_runs:
        time_quick_runs(args.quick_runs, args.data_root)
    if args.reps <= 0:
        return

    images, labels, source = _load(args.data_root, 10000)
    bs = args.batch_size
    steps = max(1, args.images // bs)
    print(machine_line())
    print(f"data: {source}; batch {bs}; {steps * bs} training images per repetition, {args.reps} repetitions, "
          "candidates interleaved")
    rows, medians = [], {}
    for threads in thread_counts(args.threads):
        torch.set_num_threads(threads)
        candidates = {
            "baseline: DataLoader + PIL + ToTensor/Normalize, NCHW": baseline_trainer(images, labels, steps, bs),
            "ours: uint8 in memory, batched, NCHW": our_trainer(images, labels, steps, bs, False),
            "ours: uint8 in memory, batched, channels_last": our_trainer(images, labels, steps, bs, True),
        }
        if args.compile:
            t0 = time.perf_counter()
            compiled = our_trainer(images, labels, steps, bs, True, compile_model=True)
            compiled()  # the first call compiles
            name = f"ours + torch.compile, channels_last (compile {time.perf_counter() - t0:.0f}s)"
            candidates[name] = compiled
        times, cpu = _interleaved_wall_and_cpu(candidates, args.reps)
        first = next(iter(candidates))
        base, base_cpu = median(times[first]), median(cpu[first])
        for name, secs in times.items():
            rate = steps * bs / median(secs)
            medians[(threads, name)] = rate
            rows.append([threads, name, f"{rate:.0f}", f"{steps * bs / max(secs):.0f}..{steps * bs / min(secs):.0f}",
                         f"{base / median(secs):.2f}x", f"{steps * bs / median(cpu[name]):.0f}",
                         f"{base_cpu / median(cpu[name]):.2f}x"])
    print_table(["threads", "pipeline", "median img/s", "range", "vs baseline", "img per CPU-s",
                 "vs baseline (CPU)"], rows)
    base_best = max(v for (t, n), v in medians.items() if n.startswith("baseline"))
    best = max((k for k in medians if not k[1].startswith("baseline")), key=medians.get)
    print(f"best: threads={best[0]} {best[1]}: {medians[best]:.0f} img/s = {medians[best] / base_best:.2f}x "
          f"the best baseline ({base_best:.0f} img/s)")


if __name__ == "__main__":
    main()
