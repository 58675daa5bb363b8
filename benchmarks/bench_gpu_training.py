"""Row 6: paper AlexNet training throughput on a GPU (images/s and share of the bf16 peak).

One training step = forward, cross-entropy, backward and a ``PaperSGD`` step (section 5's rule),
timed over ``--steps`` steps after ``--warmup`` untimed ones, with a device synchronise at both
ends. Every combination of

* towers 2 (the paper's two-GPU network as grouped convolutions) and 1,
* batch 128 (the paper's) and 512,
* bf16 autocast and fp32,
* channels_last on and off,
* data: "synthetic" (one fixed float batch already on the device: the model alone) and
  "pipeline" (uint8 256x256 images resident on the device, a random batch drawn each step and
  ``alexnet.data.TrainPreset`` applied on the device: crop, flip, PCA colour noise, mean image).

The achieved rate is converted to FLOP/s with the per-image training cost given in issue 6
(4.35 GFLOP for the two-tower model at 227x227, 6.8 for one tower: forward plus backward) and
divided by the GPU's dense bf16 peak (table below, or ``--peak-tflops``); fp32 rows are reported
against the same bf16 peak so all rows share one yardstick.

    python benchmarks/bench_gpu_training.py                                 # needs CUDA
    python benchmarks/bench_gpu_training.py --device cpu --steps 2 --warmup 1 --batches 4 \\
        --towers 2 --dtypes bf16 --channels-last on --dataset-images 16    # CPU smoke test (~1 min)
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import time

import _common
import torch
import torch.nn.functional as F

from alexnet import AlexNet
from alexnet.data import TrainPreset, compute_stats
from alexnet.optim import PaperSGD

GFLOP_PER_TRAINING_IMAGE = {2: 4.35, 1: 6.8}  # issue 6's counts, forward + backward at 227x227
# Dense (no sparsity) bf16 tensor-core peaks from the vendors' data sheets, TFLOP/s.
BF16_PEAK_TFLOPS = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 80GB HBM3": 989.0,  # the SXM part's device name
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10G": 70.0,
}


def peak_tflops(device: torch.device, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in BF16_PEAK_TFLOPS.items():
        if key in name:
            return value
    return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu for a smoke test")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per configuration (default 20)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5; cudnn autotune)")
    parser.add_argument("--batches", default="128,512", help="batch sizes (default 128,512)")
    parser.add_argument("--towers", default="2,1", help="tower counts (default 2,1)")
    parser.add_argument("--dtypes", default="bf16,fp32", help="bf16 and/or fp32 (default both)")
    parser.add_argument("--channels-last", default="on,off", help="on and/or off (default both)")
    parser.add_argument("--data", default="synthetic,pipeline", help="synthetic and/or pipeline (default both)")
    parser.add_argument("--dataset-images", type=int, default=2048, help="uint8 images held on the device")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's dense bf16 peak, TFLOP/s")
    return parser.parse_args(argv)


def choices(spec: str, allowed: set[str]) -> list[str]:
    values = [v.strip() for v in spec.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise SystemExit(f"expected some of {sorted(allowed)}, got {spec!r}")
    return values


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_config(
    device: torch.device, towers: int, batch: int, dtype: str, channels_last: bool, data: str,
    images: torch.Tensor, preset: TrainPreset, steps: int, warmup: int,
) -> tuple[float, float]:
    """(images/s, final loss) of ``steps`` timed training steps."""
    torch.manual_seed(0)
    model = AlexNet(num_classes=1000, towers=towers).to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format).train()
    optimizer = PaperSGD(model.parameters(), lr=0.01)
    labels = torch.randint(0, 1000, (batch,), device=device)
    fixed = torch.randn(batch, 3, 227, 227, device=device) * 60  # the 0..255-minus-mean scale
    autocast = (
        torch.autocast(device_type=device.type, dtype=torch.bfloat16) if dtype == "bf16" else contextlib.nullcontext()
    )

    def step() -> torch.Tensor:
        if data == "synthetic":
            inputs = fixed
        else:
            inputs = preset(images[torch.randint(0, len(images), (batch,), device=device)])
        inputs = inputs.contiguous(memory_format=memory_format)
        with autocast:
            loss = F.cross_entropy(model(inputs), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    synchronize(device)
    elapsed = time.perf_counter() - start
    final = float(loss.detach().float())
    if not torch.isfinite(torch.tensor(final)):
        raise SystemExit(f"non-finite loss in {towers=} {batch=} {dtype=} {channels_last=} {data=}")
    return batch * steps / elapsed, final


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            "bench_gpu_training: CUDA is not available on this machine, so row 6 cannot be measured here. "
            "Run it on a GPU machine, or smoke-test it on the CPU with: --device cpu --steps 2 --warmup 1 --batches 4 "
            "--towers 2 --dtypes bf16 --channels-last on --dataset-images 16"
        )
        return 0
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 rows are true fp32
        torch.backends.cudnn.allow_tf32 = False
    print(_common.machine_line())
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    peak = peak_tflops(device, args.peak_tflops)
    print(f"dense bf16 peak: {peak} TFLOP/s" if peak else "dense bf16 peak: unknown (pass --peak-tflops)")

    towers_list = [int(t) for t in choices(args.towers, {"1", "2"})]
    batches = [int(b) for b in args.batches.split(",")]
    dtypes = choices(args.dtypes, {"bf16", "fp32"})
    layouts = [v == "on" for v in choices(args.channels_last, {"on", "off"})]
    datas = choices(args.data, {"synthetic", "pipeline"})

    # Random 256x256 uint8 images resident on the device (what load_image_folder's cache would hold);
    # statistics computed there too, as a GPU training run would.
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.dataset_images, 3, 256, 256), dtype=torch.uint8, generator=gen).to(device)
    preset = TrainPreset(compute_stats(images))

    rows = []
    for towers, batch, dtype, channels_last, data in itertools.product(towers_list, batches, dtypes, layouts, datas):
        rate, loss = run_config(
            device, towers, batch, dtype, channels_last, data, images, preset, args.steps, args.warmup
        )
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the previous configuration's model and activations are gone
        tflops = rate * GFLOP_PER_TRAINING_IMAGE[towers] / 1e3
        share = f"{100 * tflops / peak:.1f}%" if peak else "n/a"
        rows.append([towers, batch, dtype, "on" if channels_last else "off", data, f"{rate:.4g}", f"{tflops:.3g}",
                     share, f"{loss:.3f}"])
        print(f"  towers={towers} batch={batch} {dtype} channels_last={channels_last} {data}: {rate:.4g} img/s",
              flush=True)
    print(f"\n{args.steps} timed steps after {args.warmup} warm-up steps per row")
    _common.print_table(
        ["towers", "batch", "dtype", "channels_last", "data", "images/s", "TFLOP/s", "of bf16 peak", "last loss"], rows
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
