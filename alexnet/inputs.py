"""What the training and evaluation loops read: a run's images, seeded subsets, batches, progress bars.

A training set that fits in memory is held as one uint8 tensor on the training
device (GPU included) and sliced into batches by index (``iterate_batches``: no
DataLoader, no per-image Python); ``stream=True`` reads images through DataLoader
workers (``StreamingImageFolder``) instead. Either way the loops receive uint8
batches and augment or crop them on the device.

An image file that cannot be decoded stops the run with one line naming it, in memory
or streamed (the workers hand the failure to the main process instead of raising it
there, which would print the worker's whole traceback). With ``skip_unreadable`` such
files are left out instead, gathered in a ``SkipLog`` that the run writes to
``skipped.txt`` and counts in each epoch's line.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from alexnet.checkpoint import atomic_write_text
from alexnet.config import TrainConfig
from alexnet.distributed import DistInfo
from alexnet.errors import DataError

# --stream cannot hold the training set to compute its statistics; they come from this many
# images drawn at random (seeded). 5,000 images are ~1.3e9 pixels: the mean image's per-pixel
# standard error is then about 1% of a pixel's spread, far below the 227-crop jitter.
STREAM_STATS_IMAGES = 5000
#: In the run folder: the image files left out by ``skip_unreadable``, one "path<TAB>reason" line each.
SKIPPED_FILE = "skipped.txt"


class SkipLog:
    """The unreadable image files met while reading a run's data.

    Without ``skip`` the first one raises ``DataError`` (one line: the file, why, and the option that
    skips it); with ``skip`` each is remembered once (``files``: path -> reason).
    """

    def __init__(self, skip: bool) -> None:
        self.skip = skip
        self.files: dict[str, str] = {}

    def add(self, path: str, reason: str) -> None:
        if not self.skip:
            raise DataError(f"cannot decode image {path}: {reason} (--skip-unreadable leaves such files out)")
        self.files.setdefault(str(path), reason)

    def gather(self, dist: DistInfo) -> None:
        """Merge every process's files into each one's (data parallel: each reads its own shard)."""
        if dist.enabled and self.skip:
            everyone: list[dict[str, str] | None] = [None] * dist.world_size
            torch.distributed.all_gather_object(everyone, self.files)
            for files in everyone:
                for path, reason in (files or {}).items():
                    self.files.setdefault(path, reason)

    def write(self, run_dir: Path) -> None:
        """``run_dir/skipped.txt`` listing the files (nothing written while there are none)."""
        if self.files:
            lines = "".join(f"{path}\t{reason}\n" for path, reason in sorted(self.files.items()))
            atomic_write_text(lines, Path(run_dir) / SKIPPED_FILE)


class ReadableBatches:
    """A DataLoader of ``collate_readable`` batches, iterated as ``(images, targets)``.

    Unreadable files in a batch go to ``skips`` (which raises unless skipping); a batch left empty is
    not yielded. Iterating again iterates the loader again (persistent workers stay up).
    """

    def __init__(self, loader: torch.utils.data.DataLoader, skips: SkipLog) -> None:
        self.loader, self.skips = loader, skips

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for images, targets, unreadable in self.loader:
            for item in unreadable:
                self.skips.add(item.path, item.reason)
            if targets.numel():
                yield images, targets

    def __len__(self) -> int:
        return len(self.loader)


def subset_indices(total: int, count: int | None, seed: int) -> Tensor | None:
    """A fixed subset of ``count`` indices out of ``total`` (sorted), drawn with ``seed``; None = all."""
    if count is None or count >= total:
        return None
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(total, generator=generator)[:count].sort().values


def iterate_batches(images: Tensor, targets: Tensor, batch_size: int,
                    indices: Tensor | None = None) -> Iterator[tuple[Tensor, Tensor]]:
    """(images, targets) slices of ``batch_size`` rows, in ``indices`` order when given."""
    count = images.shape[0] if indices is None else indices.shape[0]
    for start in range(0, count, batch_size):
        if indices is None:
            yield images[start : start + batch_size], targets[start : start + batch_size]
        else:
            chunk = indices[start : start + batch_size]
            yield images[chunk], targets[chunk]


def with_progress(iterable: Iterable, enabled: bool, desc: str, total: int, per_item: int) -> Iterator:
    """Yield from ``iterable`` while a tqdm bar counts images (``per_item`` per element, up to ``total``)."""
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=False,
              dynamic_ncols=True, file=sys.stderr) as bar:
        for item in iterable:
            yield item
            bar.update(min(per_item, total - bar.n))


class EpochSampler(torch.utils.data.Sampler):
    """Yields this epoch's index shard; lives in the main process, so persistent workers see new orders."""

    def __init__(self) -> None:
        self.indices: list[int] = []

    def __iter__(self) -> Iterator[int]:
        return iter(list(self.indices))

    def __len__(self) -> int:
        return len(self.indices)


def make_loader(dataset, batch_size: int, workers: int, device: torch.device,
                sampler: torch.utils.data.Sampler | None = None, skips: SkipLog | None = None) -> ReadableBatches:
    """Batches of uint8 images and targets in ``sampler`` order (dataset order without one).

    ``dataset`` is (a ``Subset`` of) ``StreamingImageFolder(report_unreadable=True)``; its unreadable
    files go to ``skips`` (default: one that raises on the first).
    """
    from alexnet.data.folders import collate_readable

    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, shuffle=False, num_workers=workers,
        pin_memory=device.type == "cuda", persistent_workers=workers > 0 and sampler is not None,
        drop_last=False, collate_fn=collate_readable,
    )
    return ReadableBatches(loader, skips if skips is not None else SkipLog(skip=False))


@dataclass
class RunData:
    """Training and validation data as the training loop needs them."""

    classes: list[str]  # folder names (class index order)
    class_names: list[str]  # human names when the data folder says them, else folder names
    stats: Any  # DatasetStats
    train_size: int
    val_size: int
    # in memory: uint8 images and targets on the training device
    train_images: Tensor | None = None
    train_targets: Tensor | None = None
    val_images: Tensor | None = None
    val_targets: Tensor | None = None
    # streaming: datasets read by DataLoader workers
    train_dataset: Any = None
    val_dataset: Any = None
    # unreadable image files met so far (left out with config.skip_unreadable, else the first raises)
    skips: SkipLog = field(default_factory=lambda: SkipLog(skip=False))


def load_run_data(config: TrainConfig, data_root: Path, device: torch.device, dist: DistInfo,
                  stats_state: dict | None) -> RunData:
    """``data_root``'s train and val splits as ``config`` asks (subsets, in memory or streamed).

    ``stats_state`` (a resumed run's ``data_stats``) is used as is; without it the
    statistics are computed from the training images.
    """
    from alexnet.data import (
        DatasetStats,
        ImageSet,
        StreamingImageFolder,
        class_names,
        compute_stats,
        dataset_stats,
        find_split,
    )

    train_folder, val_folder = find_split(data_root, "train"), find_split(data_root, "val")
    show = config.progress and dist.is_main
    train_seed, val_seed = config.seed, config.seed + 1
    skips = SkipLog(config.skip_unreadable)

    if config.stream:
        train_set = StreamingImageFolder(train_folder, report_unreadable=True)
        val_set = StreamingImageFolder(val_folder, report_unreadable=True)
        classes = train_set.classes
        _check_same_classes(classes, val_set.classes, val_folder)
        train_idx = subset_indices(len(train_set), config.train_subset, train_seed)
        val_idx = subset_indices(len(val_set), config.val_subset, val_seed)
        train_data = torch.utils.data.Subset(train_set, train_idx.tolist()) if train_idx is not None else train_set
        val_data = torch.utils.data.Subset(val_set, val_idx.tolist()) if val_idx is not None else val_set
        if stats_state is not None:
            stats = DatasetStats.from_state_dict(stats_state)
        else:
            sample = subset_indices(len(train_data), STREAM_STATS_IMAGES, train_seed)
            if sample is None:
                sample = torch.arange(len(train_data))
            loader = make_loader(torch.utils.data.Subset(train_data, sample.tolist()), 64, config.workers,
                                 torch.device("cpu"), skips=skips)
            images = torch.cat([batch for batch, _ in with_progress(loader, show, "statistics", len(sample), 64)])
            stats = compute_stats(images)
        data = RunData(classes, [], stats, len(train_data), len(val_data),
                       train_dataset=train_data, val_dataset=val_data, skips=skips)
    else:
        # Rank 0 decodes first and fills the cache; the others then read the cache.
        if not dist.is_main:
            dist.barrier()
        train_set = _decoded(train_folder, show, skips)
        val_set = _decoded(val_folder, show, skips)
        classes = train_set.classes
        _check_same_classes(classes, val_set.classes, val_folder)
        train_idx = subset_indices(len(train_set), config.train_subset, train_seed)
        val_idx = subset_indices(len(val_set), config.val_subset, val_seed)
        if train_idx is not None:
            train_set = ImageSet(train_set.images[train_idx], train_set.targets[train_idx], classes,
                                 cache_key=_derived_key(train_set.cache_key, train_idx))
        if val_idx is not None:
            val_set = ImageSet(val_set.images[val_idx], val_set.targets[val_idx], classes)
        if stats_state is not None:
            stats = DatasetStats.from_state_dict(stats_state)
        else:
            stats = dataset_stats(train_set)
        if dist.is_main:
            dist.barrier()
        data = RunData(
            classes, [], stats, len(train_set), len(val_set),
            train_images=train_set.images.to(device), train_targets=train_set.targets.to(device),
            val_images=val_set.images.to(device), val_targets=val_set.targets.to(device), skips=skips,
        )
    names = class_names(data_root)
    data.class_names = list(names) if names is not None and len(names) == len(classes) else list(classes)
    return data


def _decoded(folder: Path, progress: bool, skips: SkipLog):
    """``load_image_folder(folder)``; its unreadable files go to ``skips`` (the first raises unless skipping)."""
    from alexnet.data import load_image_folder
    from alexnet.data.folders import UnreadableImageError

    try:
        image_set = load_image_folder(folder, progress=progress, skip_unreadable=skips.skip)
    except UnreadableImageError as exc:
        skips.add(exc.path, exc.reason)
        raise  # unreachable: raised only when not skipping, and then skips.add raised the one-line DataError
    for path, reason in image_set.skipped:
        skips.add(path, reason)
    return image_set


def _derived_key(key: str | None, indices: Tensor | None) -> str | None:
    # A subset's statistics are cached apart from the full set's: its key also hashes the indices.
    if key is None or indices is None:
        return key
    digest = hashlib.sha256(key.encode())
    digest.update(indices.numpy().tobytes())
    return digest.hexdigest()


def _check_same_classes(train_classes: list[str], val_classes: list[str], val_folder: Path) -> None:
    if list(train_classes) != list(val_classes):
        raise DataError(
            f"{val_folder} has classes {val_classes[:5]}{'...' if len(val_classes) > 5 else ''} "
            f"but train has {train_classes[:5]}{'...' if len(train_classes) > 5 else ''}: "
            "both splits need the same class folders"
        )
