"""Row 3: training input pipeline images/s, the project's batched tensor pipeline vs torchvision.

Both produce float batches of 227x227 crops with the paper's augmentation (section 4.1: random
crop, horizontal flip, PCA colour noise) and mean subtraction (section 2):

* ours: random indices into the decoded uint8 (N, 3, 256, 256) tensor that
  ``alexnet.data.load_image_folder`` caches, then ``TrainPreset(stats)`` on the whole batch
  (subtracts the full mean *image*, which costs more than a per-channel mean);
* baseline "PIL in memory": the same 256x256 images held as PIL images, torchvision's
  per-image transforms RandomCrop(227), RandomHorizontalFlip, ToTensor, a per-image PCA lighting
  transform (the fb.resnet.torch ``Lighting`` most write-ups copy) and per-channel Normalize,
  collated by a DataLoader; decoding excluded, so this isolates the augmentation itself;
* baseline "JPEG files": what the popular write-ups actually run each epoch, ``ImageFolder``-style
  per-image JPEG decode, Resize(256) + CenterCrop(256), then the same transforms.

Images: the first ``--images`` training files of Imagenette under ``alexnet.paths.data_root()``
when present (decoded once with ``alexnet.data.decode_image_file``), otherwise generated JPEGs.
The DataLoader baselines are timed with num_workers 0, 1 and 2 and the best is the reference.

    .venv/bin/python benchmarks/bench_pipeline.py
    .venv/bin/python benchmarks/bench_pipeline.py --images 128 --batch 32 --reps 2 --threads 1
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import _common
import numpy as np
import torch
import torch.utils.data
from PIL import Image
from torchvision import transforms as T

from alexnet.data import TrainPreset, compute_stats, decode_image_file, list_image_folder
from alexnet.paths import data_root


class Lighting:
    """Per-image PCA colour noise on a (3, H, W) tensor (fb.resnet.torch style, as write-ups copy it)."""

    def __init__(self, std: float, eigvals: torch.Tensor, eigvecs: torch.Tensor):
        self.std, self.eigvals, self.eigvecs = std, eigvals, eigvecs

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        alpha = torch.randn(3) * self.std
        rgb = self.eigvecs @ (alpha * self.eigvals.sqrt())
        return img + rgb.view(3, 1, 1) / 255.0  # ToTensor's 0..1 scale


def baseline_transform(stats) -> T.Compose:
    channel_mean = (stats.mean_image.mean(dim=(1, 2)) / 255.0).tolist()
    return T.Compose([
        T.RandomCrop(227),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        Lighting(0.1, stats.eigvals, stats.eigvecs),
        T.Normalize(channel_mean, [1.0 / 255.0] * 3),  # mean subtraction, back on the 0..255 scale
    ])


class PILImages(torch.utils.data.Dataset):
    def __init__(self, images: torch.Tensor, transform):
        self.pils = [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in images]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.pils)

    def __getitem__(self, i: int):
        return self.transform(self.pils[i]), 0


class JPEGFiles(torch.utils.data.Dataset):
    def __init__(self, paths: list[Path], transform):
        self.paths = paths
        self.transform = T.Compose([T.Resize(256), T.CenterCrop(256), transform])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        with Image.open(self.paths[i]) as img:
            return self.transform(img.convert("RGB")), 0


def source_files(count: int, workdir: Path) -> tuple[list[Path], str]:
    train = data_root() / "imagenette" / "train"
    if train.is_dir():
        _, samples = list_image_folder(train)
        rng = np.random.default_rng(0)
        picks = rng.choice(len(samples), size=min(count, len(samples)), replace=False)
        return [samples[i][0] for i in sorted(picks)], f"Imagenette train ({train}), {len(picks)} files"
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        # Smooth random images (JPEG-friendly, like photos rather than noise), 300x400.
        small = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((400, 300), Image.BILINEAR)
        path = workdir / f"img{i:04d}.jpg"
        img.save(path, quality=90)
        paths.append(path)
    return paths, f"{count} generated 400x300 JPEGs (no Imagenette under {data_root()})"


def loader_rate(dataset, batch: int, workers: int, batches: int) -> tuple[float, float | None]:
    """Steady-state (images/s, images per CPU-second) of a DataLoader drawing random images.

    The first ``2 * workers + 1`` batches (start-up plus everything prefetched) are drawn untimed,
    so the timed batches arrive at the rate the workers produce them. CPU time is only known
    in-process (``workers == 0``); the workers' CPU is not visible from here.
    """
    warm = 2 * workers + 1
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=batch * (warm + batches))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers)
    it = iter(loader)
    for _ in range(warm):
        next(it)
    cpu, start = time.process_time(), time.perf_counter()
    done = sum(next(it)[0].shape[0] for _ in range(batches))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    del it  # shuts the workers down
    return done / wall, (done / cpu if workers == 0 else None)


def sliced_crops(images: torch.Tensor, mean_image: torch.Tensor, top, left, mirror, crop: int) -> torch.Tensor:
    """Candidate for alexnet.data's crop step: per-image slices copied into one preallocated batch.

    Each image's window is a view, so the work is one uint8->float copy and one in-place subtract
    of the mean's window per image, instead of materialising gathered windows of both images and
    means and selecting flipped/unflipped with ``torch.where``. Bit-identical to ``TrainPreset``'s
    crops (checked in main). Its weakness: 2 small parallel ops per image, which stall on OpenMP
    barriers when torch uses 2 threads on a busy 2-core machine (see the 2-thread rows).
    """
    width = images.shape[-1]
    out = torch.empty((images.shape[0], 3, crop, crop), dtype=torch.float32)
    mean_flipped = mean_image.flip(-1)
    for i, (t, x, flip) in enumerate(zip(top.tolist(), left.tolist(), mirror.tolist(), strict=True)):
        if flip:
            mx = width - crop - x
            out[i].copy_(images[i, :, t : t + crop, x : x + crop].flip(-1))
            out[i].sub_(mean_flipped[:, t : t + crop, mx : mx + crop])
        else:
            out[i].copy_(images[i, :, t : t + crop, x : x + crop])
            out[i].sub_(mean_image[:, t : t + crop, x : x + crop])
    return out


def check_candidate(images: torch.Tensor, stats) -> None:
    from alexnet.data import _crop_and_centre

    n = min(16, len(images))
    top, left = torch.randint(0, 30, (n,)), torch.randint(0, 30, (n,))
    mirror = torch.arange(n) % 2 == 0
    expected = _crop_and_centre(images[:n], stats.mean_image, top, left, mirror, 227)
    if not torch.equal(sliced_crops(images[:n], stats.mean_image, top, left, mirror, 227), expected):
        raise SystemExit("the sliced-crops candidate differs from alexnet.data's crops")


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], reps=3)
    parser.add_argument("--images", type=int, default=512, help="number of source images (default 512)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128, the paper's)")
    parser.add_argument("--batches", type=int, default=3, help="batches timed per repetition (default 3)")
    parser.add_argument("--workers", default="0,1,2", help="DataLoader num_workers to try (default 0,1,2)")
    args = parser.parse_args()
    print(_common.machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        paths, what = source_files(args.images, Path(tmp))
        print(f"images: {what}")
        images = torch.stack([decode_image_file(p, 256) for p in paths])  # what load_image_folder caches
        stats = compute_stats(images)
        preset = TrainPreset(stats)
        transform = baseline_transform(stats)
        pil_set, jpeg_set = PILImages(images, transform), JPEGFiles(paths, transform)

        check_candidate(images, stats)

        def ours() -> int:
            picks = torch.randint(0, len(images), (args.batch,))
            return preset(images[picks]).shape[0]

        def candidate() -> int:
            # TrainPreset's steps with the crop done by sliced_crops (same random draws, same order).
            batch = images[torch.randint(0, len(images), (args.batch,))]
            top = torch.randint(0, 256 - 227 + 1, (args.batch,))
            left = torch.randint(0, 256 - 227 + 1, (args.batch,))
            mirror = torch.randint(0, 2, (args.batch,)).bool()
            out = sliced_crops(batch, stats.mean_image, top, left, mirror, 227)
            out += preset.colour_shift(args.batch, out.device)[:, :, None, None]
            return out.shape[0]

        rows = []
        for threads in _common.thread_counts(args.threads):
            torch.set_num_threads(threads)
            rates: dict[str, list[float]] = {"ours": [], "candidate: sliced crops": []}
            cpu_rates: dict[str, list[float]] = {"ours": [], "candidate: sliced crops": []}
            for _ in range(args.reps):  # interleave: ours, then each baseline, per repetition
                for key, fn in (("ours", ours), ("candidate: sliced crops", candidate)):
                    cpu, start = time.process_time(), time.perf_counter()
                    n = sum(fn() for _ in range(args.batches))
                    rates[key].append(n / (time.perf_counter() - start))
                    cpu_rates[key].append(n / (time.process_time() - cpu))
                for workers in (int(w) for w in args.workers.split(",")):
                    for name, dataset in (("PIL in memory", pil_set), ("JPEG files", jpeg_set)):
                        key = f"{name}, {workers} workers"
                        rate, cpu_rate = loader_rate(dataset, args.batch, workers, args.batches)
                        rates.setdefault(key, []).append(rate)
                        if cpu_rate is not None:
                            cpu_rates.setdefault(key, []).append(cpu_rate)
            med = {k: _common.median(v) for k, v in rates.items()}
            cpu_med = {k: _common.median(v) for k, v in cpu_rates.items()}
            best = {
                name: max((k for k in med if k.startswith(name)), key=med.__getitem__)
                for name in ("PIL in memory", "JPEG files")
            }
            for key, rate in med.items():
                ratio = "" if key == "ours" else f"{med['ours'] / rate:.2f}x"
                mark = " (best)" if key in best.values() else ""
                per_cpu = f"{cpu_med[key]:.0f}" if key in cpu_med else "(other processes)"
                cpu_ratio = f"{cpu_med['ours'] / cpu_med[key]:.2f}x" if key in cpu_med and key != "ours" else ""
                rows.append([threads, key + mark, f"{rate:.0f}", ratio, per_cpu, cpu_ratio])
            for name, key in best.items():
                for mine in ("ours", "candidate: sliced crops"):
                    print(f"threads={threads}: {mine} vs best {name} baseline ({key}): {med[mine] / med[key]:.2f}x")
            for name in ("PIL in memory", "JPEG files"):
                key = f"{name}, 0 workers"
                if key in cpu_med:
                    for mine in ("ours", "candidate: sliced crops"):
                        print(f"threads={threads}: {mine} vs {key}, images per CPU-second: "
                              f"{cpu_med[mine] / cpu_med[key]:.2f}x")
    print(f"\nmedians of {args.reps} interleaved repetitions of {args.batches} batches of {args.batch}; images/s")
    _common.print_table(
        ["torch threads", "pipeline", "images/s", "ours / this", "images per CPU-s", "ours / this (CPU)"], rows
    )


if __name__ == "__main__":
    main()
