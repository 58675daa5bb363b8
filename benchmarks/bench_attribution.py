"""Row 9: attribution, dataset examples and feature visualisation on the bundled model (issue 12's timings).

Three measurements, each against a baseline in the same process:

1. One image's Grad-CAM, saliency and occlusion maps against one forward pass (interleaved
   repetitions): ms and the ratio to the forward pass (occlusion: one pass per window).
2. The dataset-examples index (top 9 per channel of conv1..conv5, fc6, fc7) over Imagenette train +
   val, built from scratch (then cached), against plain batched forward passes over the first images (the
   floor: the index must run the network once per image). Target: under 5 minutes for 5,000 images.
3. Feature visualisation of one channel of each conv layer against the same number of plain
   forward + backward passes up to that layer. Target: under 30 s per channel.

    .venv/bin/python benchmarks/bench_attribution.py                     # everything, threads 1 and 2
    .venv/bin/python benchmarks/bench_attribution.py --threads 1 --index-threads 1
    .venv/bin/python benchmarks/bench_attribution.py --model random --reps 1 --index-images 8 --vis-steps 2
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import _common
import torch

from alexnet.data import find_split, list_image_folder, load_image_folder
from alexnet.errors import DataError
from alexnet.paths import data_root
from explorer.attribution import gradcam, occlusion, saliency
from explorer.dataset_examples import build_unit_examples
from explorer.feature_vis import _layer_modules, visualise_channel

CONV = ("conv1", "conv2", "conv3", "conv4", "conv5")


def classifier_for(kind: str):
    """The bundled reference model, or a randomly initialised two-tower AlexNet (no assets read)."""
    from alexnet.predict import load_classifier

    if kind == "reference":
        return load_classifier()
    from alexnet.data import DatasetStats, EvalPreset
    from alexnet.model import AlexNet
    from alexnet.predict import Classifier

    stats = DatasetStats(torch.full((3, 256, 256), 115.0), torch.ones(3), torch.eye(3))
    names = [str(i) for i in range(10)]
    return Classifier(AlexNet(num_classes=10, towers=2).eval(), EvalPreset(stats), names, names, "random")


def attribution_rows(classifier, x: torch.Tensor, threads: int, reps: int, patch: int, stride: int) -> list[list]:
    model = classifier.model

    def forward():
        with torch.inference_mode():
            return model(x)

    candidates = {
        "forward pass (baseline)": forward,
        "gradcam": lambda: gradcam(model, x, 0),
        "saliency": lambda: saliency(model, x, 0),
        f"occlusion {patch}/{stride}": lambda: occlusion(model, x, 0, patch=patch, stride=stride),
    }
    times = _common.interleaved(candidates, reps, warmup=1 if reps > 1 else 0)
    base = _common.median(times["forward pass (baseline)"])
    return [[name, threads, f"{_common.median(t) * 1e3:.0f}", _common.spread(t), f"{_common.median(t) / base:.1f}x",
             f"{_common.median(times.cpu[name]) * 1e3:.0f}"] for name, t in times.items()]


def subset_folder(data: Path, count: int, tmp: Path) -> Path:
    """A folder of symbolic links to the first ``count`` images of each split (class folders kept)."""
    for split in ("train", "val"):
        _, samples = list_image_folder(find_split(data, split))
        for path, _ in samples[:count]:
            target = tmp / split / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)
    return tmp


def index_rows(classifier, data: Path, images: int, batch: int) -> list[list]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = subset_folder(data, images, Path(tmp)) if images else data
        count = sum(len(list_image_folder(find_split(folder, s))[1]) for s in ("train", "val"))
        for split in ("train", "val"):  # decoded once beforehand (its own cache): the index build times the network
            load_image_folder(find_split(folder, split).resolve(), progress=False)
        wall, cpu = time.perf_counter(), time.process_time()
        # Built from scratch and saved, as the dashboard's first request would: later runs of `alexnet units`
        # and the dashboard then read it from $ALEXNET_CACHE_DIR.
        build_unit_examples(classifier, folder, batch_size=batch, rebuild=True, show_progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        train = load_image_folder(find_split(folder, "train").resolve(), progress=False).images
        floor_images = min(len(train), 500)
        fwall, fcpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            for start in range(0, floor_images, batch):
                classifier.model(classifier.preset(train[start:min(start + batch, floor_images)]))
        fwall, fcpu = (time.perf_counter() - fwall) / floor_images, (time.process_time() - fcpu) / floor_images
    return [
        [f"index build, {count} images", f"{wall:.1f} s", f"{wall / count * 1e3:.1f}", f"{cpu / count * 1e3:.1f}",
         f"{wall / count / fwall:.2f}x"],
        [f"plain forward, first {floor_images} (baseline)", f"{fwall * count:.1f} s (for {count})",
         f"{fwall * 1e3:.1f}", f"{fcpu * 1e3:.1f}", "1.00x"],
    ]


def vis_rows(classifier, steps: int, size: int) -> list[list]:
    model = classifier.model
    mean = classifier.preset.stats.mean_image.mean(dim=(1, 2))
    rows = []
    for layer in CONV:
        wall = time.perf_counter()
        visualise_channel(model, layer, 0, mean_rgb=mean, steps=steps, size=size)
        wall = time.perf_counter() - wall
        x = torch.randn(1, 3, size, size, requires_grad=True)
        base = time.perf_counter()
        for _ in range(steps):
            h = x
            for module in _layer_modules(model, layer):
                h = module(h)
            torch.autograd.grad(h[0, 0].mean(), [x])
        base = time.perf_counter() - base
        rows.append([layer, steps, size, f"{wall:.1f}", f"{base:.1f}", f"{wall / base:.2f}x",
                     "yes" if wall < 30 else "no"])
    return rows


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], reps=5)
    parser.add_argument("--model", choices=("reference", "random"), default="reference",
                        help="the bundled reference model, or a random two-tower AlexNet (default: reference)")
    parser.add_argument("--patch", type=int, default=32, help="occlusion patch (default 32)")
    parser.add_argument("--stride", type=int, default=16, help="occlusion stride (default 16)")
    parser.add_argument("--data", default=None, help="Imagenette folder (default: <ALEXNET_DATA_ROOT>/imagenette)")
    parser.add_argument("--index-images", type=int, default=0,
                        help="index only the first N images of each split (default 0: all)")
    parser.add_argument("--index-threads", type=int, default=1, help="torch threads for the index build (default 1)")
    parser.add_argument("--batch", type=int, default=50, help="index batch size (default 50)")
    parser.add_argument("--vis-steps", type=int, default=256, help="feature visualisation steps (default 256)")
    parser.add_argument("--vis-size", type=int, default=128, help="feature visualisation image side (default 128)")
    args = parser.parse_args()
    print(_common.machine_line())
    classifier = classifier_for(args.model)
    g = torch.Generator().manual_seed(0)
    x = classifier.preset(torch.randint(0, 256, (1, 3, 256, 256), dtype=torch.uint8, generator=g))

    print("\n1. One image's map vs one forward pass (batch 1), medians (min..max)")
    rows = []
    for threads in _common.thread_counts(args.threads):
        torch.set_num_threads(threads)
        rows += attribution_rows(classifier, x, threads, args.reps, args.patch, args.stride)
    _common.print_table(["method", "threads", "ms", "range ms", "vs forward", "cpu ms"], rows)

    torch.set_num_threads(args.index_threads)
    data = Path(args.data) if args.data else data_root() / "imagenette"
    print(f"\n2. Dataset-examples index, {args.index_threads} thread(s), batch {args.batch}, built from scratch")
    try:
        rows = index_rows(classifier, data, args.index_images, args.batch)
        _common.print_table(["run", "wall", "ms/img", "cpu ms/img", "vs forward"], rows)
    except DataError as exc:
        print(f"index skipped: {exc}")

    print(f"\n3. Feature visualisation, one channel per layer, {args.index_threads} thread(s)")
    _common.print_table(["layer", "steps", "size", "seconds", "plain fwd+bwd s", "ratio", "< 30 s"],
                        vis_rows(classifier, args.vis_steps, args.vis_size))


if __name__ == "__main__":
    main()
