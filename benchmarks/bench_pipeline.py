"""Row 3: training input pipeline images/s, the project's batched tensor pipeline vs torchvision.

Both produce float batches of 227x227 crops with the paper's augmentation (section 4.1: random
crop, horizontal flip, PCA colour noise) and mean subtraction (section 2):

* ours: random indices into the decoded uint8 (N, 3, 256, 256) tensor that
  ``alexnet.data.load_image_folder`` caches, then ``TrainPreset(stats)`` on the whole batch
  (subtracts the full mean *image*, which costs more than a per-channel mean); on the CPU that is
  its per-image path;
* ours + batch into NumPy memory: the same, with the batch of uint8 images taken by
  ``index_select`` into NumPy-allocated memory (huge pages, see ``alexnet.data.presets._empty_cpu_float``)
  instead of ``images[picks]``: a change proposed for ``alexnet.inputs.iterate_batches``, which
  takes training batches the ``images[picks]`` way today;
* before: the same as ours with TrainPreset's generic vectorised gather (``_crop_and_centre``, its GPU
  path and its CPU path until row 3's fix), bit-identical output (checked);
* baseline "PIL in memory": the same 256x256 images held as PIL images, torchvision's
  per-image transforms RandomCrop(227), RandomHorizontalFlip, ToTensor, a per-image PCA lighting
  transform (the fb.resnet.torch ``Lighting`` most write-ups copy) and per-channel Normalize,
  collated by a DataLoader; decoding excluded, so this isolates the augmentation itself;
* baseline "JPEG files": what the popular write-ups actually run each epoch, ``ImageFolder``-style
  per-image JPEG decode, Resize(256) + CenterCrop(256), then the same transforms.

Images: the first ``--images`` training files of Imagenette under ``alexnet.paths.data_root()``
when present (decoded once with ``alexnet.data.decode_image_file``), otherwise generated JPEGs.
The DataLoader baselines are timed with num_workers 0, 1 and 2 and the best is the reference.
Fair in both directions: wall-clock images/s favours the worker baselines on a loaded machine
(each worker process gets its own share of the CPU), so images per CPU-second is reported too,
counting the workers' CPU time (read from /proc on Linux).

    .venv/bin/python benchmarks/bench_pipeline.py
    .venv/bin/python benchmarks/bench_pipeline.py --images 128 --batch 32 --reps 2 --threads 1
    .venv/bin/python benchmarks/bench_pipeline.py --images 8 --batch 4 --batches 1 --reps 1 --threads 1 --workers 0
"""

from __future__ import annotations

import os
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
from alexnet.data.presets import _crop_and_centre
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


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def loader_rate(dataset, batch: int, workers: int, batches: int) -> tuple[float, float | None]:
    """Steady-state (images/s, images per CPU-second) of a DataLoader drawing random images.

    The first ``2 * workers + 1`` batches (start-up plus everything prefetched) are drawn untimed,
    so the timed batches arrive at the rate the workers produce them. CPU time is this process's
    plus its workers' (None when a worker's cannot be read): at steady state a worker makes one
    batch per batch taken, so the workers' CPU over the timed window is the cost of the timed
    batches, to within the batches in progress at either end.
    """
    warm = 2 * workers + 1
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=batch * (warm + batches))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers)
    it = iter(loader)
    for _ in range(warm):
        next(it)
    pids = [w.pid for w in getattr(it, "_workers", [])]
    worker_cpu = [process_cpu_seconds(pid) for pid in pids]
    cpu, start = time.process_time(), time.perf_counter()
    done = sum(next(it)[0].shape[0] for _ in range(batches))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = [process_cpu_seconds(pid) for pid in pids]
    del it  # shuts the workers down
    if any(v is None for v in worker_cpu + after):
        return done / wall, None
    cpu += sum(a - b for a, b in zip(after, worker_cpu, strict=True))
    return done / wall, done / cpu


def take_rows_into_numpy_memory(images: torch.Tensor, picks: torch.Tensor) -> torch.Tensor:
    """``images[picks]`` for CPU tensors, written into NumPy-allocated (huge-page) memory.

    Measured at 1 torch thread, batch of 128 at 256x256 (25 MB): ``images[picks]`` 14.9 ms of
    CPU, this 3.2 ms, and ``index_select`` into ``torch.empty`` 3.4 ms: the gain is mostly
    ``index_select``'s row copies against advanced indexing's element-wise gather, not the
    memory. With 2 threads on the loaded machine this row collapsed (54 img/s; index_select
    followed by TrainPreset was 4-5x slower than images[picks] followed by TrainPreset, with
    either memory), cause not isolated: so the proposal is for 1 thread only.
    """
    out = torch.from_numpy(np.empty((len(picks), *images.shape[1:]), dtype=np.uint8))
    return torch.index_select(images, 0, picks, out=out)


def check_same_output(images: torch.Tensor, preset: TrainPreset) -> None:
    """ours and before must give the same bits for the same generator (else the race is unfair)."""
    n = min(16, len(images))
    a = preset(images[:n], torch.Generator().manual_seed(0))
    b = gather_path(preset, images[:n], torch.Generator().manual_seed(0))
    if not torch.equal(a, b):
        raise SystemExit("TrainPreset's CPU path differs from its gather path")
    picks = torch.randint(0, len(images), (n,))
    if not torch.equal(take_rows_into_numpy_memory(images, picks), images[picks]):
        raise SystemExit("take_rows_into_numpy_memory differs from images[picks]")


def gather_path(preset: TrainPreset, batch: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """TrainPreset's steps with its generic gather (the same random draws in the same order)."""
    n, _, height, width = batch.shape
    crop = preset.crop_size
    top = torch.randint(0, height - crop + 1, (n,), generator=generator)
    left = torch.randint(0, width - crop + 1, (n,), generator=generator)
    mirror = torch.randint(0, 2, (n,), generator=generator).bool()
    out = _crop_and_centre(batch, preset.stats.mean_image, top, left, mirror, crop)
    out += preset.colour_shift(n, out.device, generator)[:, :, None, None]
    return out


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

        check_same_output(images, preset)
        mine = ("ours", "ours + batch into NumPy memory", "before: gather path")

        def ours() -> int:
            picks = torch.randint(0, len(images), (args.batch,))
            return preset(images[picks]).shape[0]

        def ours_numpy_batch() -> int:
            picks = torch.randint(0, len(images), (args.batch,))
            return preset(take_rows_into_numpy_memory(images, picks)).shape[0]

        def before() -> int:
            picks = torch.randint(0, len(images), (args.batch,))
            return gather_path(preset, images[picks]).shape[0]

        rows = []
        for threads in _common.thread_counts(args.threads):
            torch.set_num_threads(threads)
            rates: dict[str, list[float]] = {key: [] for key in mine}
            cpu_rates: dict[str, list[float]] = {key: [] for key in mine}
            fns = (ours, ours_numpy_batch, before)
            for fn in fns:  # warm-up
                fn()
            for _ in range(args.reps):  # interleave: ours, before, then each baseline, per repetition
                for key, fn in zip(mine, fns, strict=True):
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
            best_cpu = {
                name: max((k for k in cpu_med if k.startswith(name)), key=cpu_med.__getitem__, default=None)
                for name in ("PIL in memory", "JPEG files")
            }
            for key, rate in med.items():
                ratio = "" if key == "ours" else f"{med['ours'] / rate:.2f}x"
                mark = " (best)" if key in best.values() else ""
                per_cpu = f"{cpu_med[key]:.0f}" if key in cpu_med else "(not readable)"
                cpu_ratio = f"{cpu_med['ours'] / cpu_med[key]:.2f}x" if key in cpu_med and key != "ours" else ""
                rows.append([threads, key + mark, f"{rate:.0f}", ratio, per_cpu, cpu_ratio])
            for name in ("PIL in memory", "JPEG files"):
                for key in mine:
                    line = f"threads={threads}: {key} vs best {name} ({best[name]}): {med[key] / med[best[name]]:.2f}x"
                    if best_cpu[name] is not None:
                        line += (f" wall; vs best per CPU-second ({best_cpu[name]}): "
                                 f"{cpu_med[key] / cpu_med[best_cpu[name]]:.2f}x")
                    print(line)
    print(f"\nmedians of {args.reps} interleaved repetitions of {args.batches} batches of {args.batch}; "
          "images/s; CPU-s include DataLoader workers")
    _common.print_table(
        ["torch threads", "pipeline", "images/s", "ours / this", "images per CPU-s", "ours / this (CPU)"], rows
    )


if __name__ == "__main__":
    main()
