"""Training and evaluation with the paper's recipe (Krizhevsky et al. 2012, sections 4-5).

Structured like torchvision's classification references: ``train_one_epoch``,
``evaluate`` and ``fit(config)`` (what ``alexnet train`` runs), with the metric
helpers (``topk_errors``) apart.

A run lives in ``<runs_dir>/<name>/``::

    config.json            the TrainConfig (JSON)
    metrics.jsonl          one JSON object per completed epoch (appended)
    checkpoint.pt          last completed epoch: model, optimizer, scheduler, epoch,
                           metrics, train_config, data_stats, class_names (atomic writes)
    snapshots/epoch_NNN.pt conv layers only, fp16, on a sparse schedule (epoch 0 = init),
                           with epoch, config, train_config, data_stats, class_names

Each metrics record: ``epoch``; ``lr`` (the rate used during the epoch);
``train_loss``, ``train_top1_error`` (on the augmented batches, dropout on),
``train_images``, ``images_per_s`` (training only); ``val_top1_error``,
``val_top5_error``, ``val_images`` (centre crop); ``val_ten_crop_top1_error``,
``val_ten_crop_top5_error`` when the 10-crop test ran (last epoch, every
``ten_crop_every``); ``lr_dropped`` (the schedule divided the rate after this
epoch, so the next epoch's ``lr`` is lower); ``epoch_seconds``; ``time`` (UTC).
Errors are fractions in [0, 1].

Input pipeline. When the training set fits in memory it is held as one uint8
tensor on the training device (GPU included); each epoch shuffles indices with
a generator seeded by (seed, epoch), slices batches and augments them on the
device with ``TrainPreset`` (no DataLoader, no per-image Python). ``stream=True``
reads images through DataLoader workers (``StreamingImageFolder``) and augments
the collated uint8 batches on the device the same way.

Reproducibility. Every epoch reseeds shuffling, augmentation and dropout from
(seed, epoch, rank), so a run resumed from epoch k's checkpoint continues
exactly as the uninterrupted run would have (bit for bit on CPU).

Data parallelism. Under ``torchrun --nproc_per_node=N`` each process holds the
model (DistributedDataParallel averages gradients), takes a disjoint shard of
the epoch's shuffled indices and a batch of ``batch_size // N`` images, so the
global batch stays the paper's 128. Rank 0 alone writes files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from alexnet.checkpoint import (
    FORMAT,
    atomic_save,
    atomic_write_text,
    load_checkpoint,
    model_from_checkpoint,
)
from alexnet.config import TrainConfig
from alexnet.errors import CheckpointError, DataError, TrainError
from alexnet.model import AlexNet, paper_init_
from alexnet.optim import PlateauSchedule, make_optimizer

METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"
SNAPSHOT_DIR = "snapshots"
# --stream cannot hold the training set to compute its statistics; they come from this many
# images drawn at random (seeded). 5,000 images are ~1.3e9 pixels: the mean image's per-pixel
# standard error is then about 1% of a pixel's spread, far below the 227-crop jitter.
STREAM_STATS_IMAGES = 5000


# --------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------


def topk_wrong(scores: Tensor, targets: Tensor, ks: Sequence[int] = (1, 5)) -> list[int]:
    """How many rows of ``scores`` (N, C) do not have their target among the top k, for each k.

    k larger than the number of classes counts as C (every target is then inside: 0 wrong).
    """
    classes = scores.shape[1]
    top = scores.topk(min(max(ks), classes), dim=1).indices
    hits = top == targets[:, None]
    return [int((~hits[:, : min(k, classes)].any(dim=1)).sum()) for k in ks]


def topk_errors(scores: Tensor, targets: Tensor, ks: Sequence[int] = (1, 5)) -> tuple[float, ...]:
    """Top-k error rates (fractions in [0, 1]) of ``scores`` (N, C) against ``targets`` (N,)."""
    if scores.shape[0] == 0:
        raise ValueError("top-k error of an empty batch is undefined")
    return tuple(w / scores.shape[0] for w in topk_wrong(scores, targets, ks))


# --------------------------------------------------------------------------------------------------
# Run folders (also read by the dashboard)
# --------------------------------------------------------------------------------------------------


def run_dir_for(config: TrainConfig) -> Path:
    from alexnet.paths import runs_root

    return Path(config.runs_dir if config.runs_dir is not None else runs_root()) / config.name


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The epoch records of a run's ``metrics.jsonl`` (empty list when there is none).

    A torn last line (a run killed while appending) is skipped; a malformed line
    elsewhere raises ``ValueError`` naming the line.
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise ValueError(f"{path}: line {number} is not JSON") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}: line {number} is not a JSON object")
        records.append(record)
    return records


def list_snapshots(run_dir: str | os.PathLike) -> dict[int, Path]:
    """{epoch: path} of a run's conv-layer snapshots (``snapshots/epoch_NNN.pt``), by epoch."""
    folder = Path(run_dir) / SNAPSHOT_DIR
    found = {}
    for path in folder.glob("epoch_*.pt") if folder.is_dir() else ():
        digits = path.stem.removeprefix("epoch_")
        if digits.isdigit():
            found[int(digits)] = path
    return dict(sorted(found.items()))


def list_runs(runs_dir: str | os.PathLike | None = None) -> list[Path]:
    """Run folders under ``runs_dir`` (default ``alexnet.paths.runs_root()``), by name.

    A run folder is any subfolder holding a config, metrics or checkpoint file.
    """
    from alexnet.paths import runs_root

    root = Path(runs_dir) if runs_dir is not None else runs_root()
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and any((p / f).is_file() for f in (CONFIG_FILE, METRICS_FILE, CHECKPOINT_FILE))
    )


def snapshot_path(run_dir: Path, epoch: int) -> Path:
    return run_dir / SNAPSHOT_DIR / f"epoch_{epoch:03d}.pt"


def _append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


# --------------------------------------------------------------------------------------------------
# Distributed setup
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistInfo:
    """This process's place in a (possibly one-process) data-parallel job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def sum(self, values: Sequence[float], device: torch.device) -> list[float]:
        """Element-wise sum of ``values`` over all processes (float64 on ``device``)."""
        if not self.enabled:
            return list(values)
        tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
        torch.distributed.all_reduce(tensor)
        return tensor.tolist()


def _init_distributed(device_name: str) -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment, if any."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not torch.distributed.is_initialized():
        wants_cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
        backend = "nccl" if wants_cuda else "gloo"
        if wants_cuda:
            torch.cuda.set_device(local_rank)
        torch.distributed.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def resolve_device(name: str, dist: DistInfo = DistInfo()) -> torch.device:
    """``"auto"`` -> cuda (this process's GPU under torchrun) when available, else cpu."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TrainError(f"device {name!r} asked for, but CUDA is not available on this machine")
        if device.index is None:
            device = torch.device("cuda", dist.local_rank if dist.enabled else torch.cuda.current_device())
    return device


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


def _subset_indices(total: int, count: int | None, seed: int) -> Tensor | None:
    """A fixed subset of ``count`` indices out of ``total`` (sorted), drawn with ``seed``; None = all."""
    if count is None or count >= total:
        return None
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(total, generator=generator)[:count].sort().values


@dataclass
class _RunData:
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


def _derived_key(key: str | None, indices: Tensor | None) -> str | None:
    if key is None or indices is None:
        return key
    digest = hashlib.sha256(key.encode())
    digest.update(indices.numpy().tobytes())
    return digest.hexdigest()


def _load_data(config: TrainConfig, data_root: Path, device: torch.device, dist: DistInfo,
               stats_state: dict | None) -> _RunData:
    from alexnet.data import (
        DatasetStats,
        ImageSet,
        StreamingImageFolder,
        class_names,
        compute_stats,
        dataset_stats,
        find_split,
        load_image_folder,
    )

    train_folder, val_folder = find_split(data_root, "train"), find_split(data_root, "val")
    show = config.progress and dist.is_main
    train_seed, val_seed = config.seed, config.seed + 1

    if config.stream:
        train_set = StreamingImageFolder(train_folder)
        val_set = StreamingImageFolder(val_folder)
        classes = train_set.classes
        _check_same_classes(classes, val_set.classes, val_folder)
        train_idx = _subset_indices(len(train_set), config.train_subset, train_seed)
        val_idx = _subset_indices(len(val_set), config.val_subset, val_seed)
        train_data = torch.utils.data.Subset(train_set, train_idx.tolist()) if train_idx is not None else train_set
        val_data = torch.utils.data.Subset(val_set, val_idx.tolist()) if val_idx is not None else val_set
        if stats_state is not None:
            stats = DatasetStats.from_state_dict(stats_state)
        else:
            sample = _subset_indices(len(train_data), STREAM_STATS_IMAGES, train_seed)
            if sample is None:
                sample = torch.arange(len(train_data))
            loader = torch.utils.data.DataLoader(
                torch.utils.data.Subset(train_data, sample.tolist()), batch_size=64,
                num_workers=config.workers)
            images = torch.cat([batch for batch, _ in _progress(loader, show, "statistics", len(sample), 64)])
            stats = compute_stats(images)
        data = _RunData(classes, [], stats, len(train_data), len(val_data),
                        train_dataset=train_data, val_dataset=val_data)
    else:
        # Rank 0 decodes first and fills the cache; the others then read the cache.
        if not dist.is_main:
            dist.barrier()
        train_set = load_image_folder(train_folder, progress=show)
        val_set = load_image_folder(val_folder, progress=show)
        classes = train_set.classes
        _check_same_classes(classes, val_set.classes, val_folder)
        train_idx = _subset_indices(len(train_set), config.train_subset, train_seed)
        val_idx = _subset_indices(len(val_set), config.val_subset, val_seed)
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
        data = _RunData(
            classes, [], stats, len(train_set), len(val_set),
            train_images=train_set.images.to(device), train_targets=train_set.targets.to(device),
            val_images=val_set.images.to(device), val_targets=val_set.targets.to(device),
        )
    names = class_names(data_root)
    data.class_names = list(names) if names is not None and len(names) == len(classes) else list(classes)
    return data


def _check_same_classes(train_classes: list[str], val_classes: list[str], val_folder: Path) -> None:
    if list(train_classes) != list(val_classes):
        raise DataError(
            f"{val_folder} has classes {val_classes[:5]}{'...' if len(val_classes) > 5 else ''} "
            f"but train has {train_classes[:5]}{'...' if len(train_classes) > 5 else ''}: "
            "both splits need the same class folders"
        )


def _progress(iterable: Iterable, enabled: bool, desc: str, total: int, per_item: int) -> Iterator:
    """Yield from ``iterable`` while a tqdm bar counts images (``per_item`` per element, up to ``total``)."""
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=False,
              dynamic_ncols=True, file=sys.stderr) as bar:
        for item in iterable:
            yield item
            bar.update(min(per_item, total - bar.n))


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


class _EpochSampler(torch.utils.data.Sampler):
    """Yields this epoch's index shard; lives in the main process, so persistent workers see new orders."""

    def __init__(self) -> None:
        self.indices: list[int] = []

    def __iter__(self) -> Iterator[int]:
        return iter(list(self.indices))

    def __len__(self) -> int:
        return len(self.indices)


def _loader(dataset, batch_size: int, workers: int, device: torch.device,
            sampler: torch.utils.data.Sampler | None = None) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, shuffle=False, num_workers=workers,
        pin_memory=device.type == "cuda", persistent_workers=workers > 0 and sampler is not None,
        drop_last=False,
    )


# --------------------------------------------------------------------------------------------------
# One epoch, evaluation
# --------------------------------------------------------------------------------------------------


def _autocast(device: torch.device, bf16: bool):
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable[tuple[Tensor, Tensor]],
    preset,
    *,
    device: torch.device,
    generator: torch.Generator | None = None,
    bf16: bool = False,
    channels_last: bool = False,
    dist: DistInfo = DistInfo(),
) -> dict[str, float]:
    """One pass of SGD over ``batches`` of uint8 images; returns loss, top-1 error, images and images/s.

    Each uint8 batch is moved to ``device`` and augmented there by ``preset``
    (``alexnet.data.TrainPreset``: random crop, mirror, PCA colour noise, mean
    image subtracted). The loss is the paper's objective, the multinomial
    logistic regression (softmax cross-entropy); the training error is measured
    on the augmented batches with dropout on, as the model sees them. Under
    data parallelism the returned numbers are summed over all processes.
    """
    model.train()
    # Sums stay on the device: converting to Python numbers each step would wait for the GPU.
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    wrong = torch.zeros((), dtype=torch.int64, device=device)
    seen = 0
    start = time.perf_counter()
    for images, targets in batches:
        images = images.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        inputs = preset(images, generator=generator)
        if channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with _autocast(device, bf16):
            logits = model(inputs)
        loss = F.cross_entropy(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            n = targets.shape[0]
            loss_sum += loss.detach().double() * n
            wrong += (logits.detach().argmax(dim=1) != targets).sum()
            seen += n
    loss_sum, wrong = float(loss_sum), int(wrong)  # waits for the device to finish the epoch
    seconds = time.perf_counter() - start
    loss_sum, wrong, seen = dist.sum([loss_sum, wrong, seen], device)
    if not math.isfinite(loss_sum):
        raise TrainError("training diverged: the loss is not finite (lower --lr?)")
    seen = int(seen)
    return {
        "train_loss": loss_sum / max(seen, 1),
        "train_top1_error": wrong / max(seen, 1),
        "train_images": seen,
        "train_seconds": seconds,
        "images_per_s": seen / seconds if seconds > 0 else float("nan"),
    }


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[Tensor, Tensor]],
    preset,
    *,
    device: torch.device,
    ten_crop: bool = False,
    bf16: bool = False,
    channels_last: bool = False,
    dist: DistInfo = DistInfo(),
) -> dict[str, float]:
    """Top-1 and top-5 error of ``model`` on ``batches`` of uint8 images (eval mode: dropout off).

    ``preset`` is an ``alexnet.data.EvalPreset``. With ``ten_crop`` each image
    is scored by the mean of the softmax outputs of its ten patches (four
    corners, centre, and their mirrors), as in section 4.1 of the paper; otherwise
    by its centre crop. Each batch of the ten-crop test goes through the network a
    tenth at a time so the crops take the memory one batch of images would.
    Under data parallelism the counts are summed over all processes.
    """
    was_training = model.training
    model.eval()
    wrong1 = wrong5 = seen = 0
    try:
        for images, targets in batches:
            images = images.to(device, non_blocking=True)
            targets = targets.to(device, non_blocking=True)
            if ten_crop:
                step = max(1, images.shape[0] // 10)
                probabilities = []
                for start in range(0, images.shape[0], step):
                    crops = preset.ten_crop(images[start : start + step])  # (n, 10, 3, h, w)
                    n = crops.shape[0]
                    scores = _forward(model, crops.flatten(0, 1), device, bf16, channels_last)
                    probabilities.append(scores.float().softmax(dim=1).view(n, 10, -1).mean(dim=1))
                scores = torch.cat(probabilities)
            else:
                scores = _forward(model, preset(images), device, bf16, channels_last).float()
            w1, w5 = topk_wrong(scores, targets, (1, 5))
            wrong1, wrong5, seen = wrong1 + w1, wrong5 + w5, seen + targets.shape[0]
    finally:
        model.train(was_training)
    wrong1, wrong5, seen = dist.sum([wrong1, wrong5, seen], device)
    if seen == 0:
        raise TrainError("no images to evaluate")
    return {"top1_error": wrong1 / seen, "top5_error": wrong5 / seen, "images": int(seen)}


def _forward(model: nn.Module, inputs: Tensor, device: torch.device, bf16: bool, channels_last: bool) -> Tensor:
    if channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    with _autocast(device, bf16):
        return model(inputs)


# --------------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------------


def conv_state_dict(model: AlexNet, dtype: torch.dtype = torch.float16) -> dict[str, Tensor]:
    """The conv layers' weights and biases (``features.convN.*``) as ``dtype`` copies on the CPU."""
    return {k: v.detach().to("cpu", dtype) for k, v in model.state_dict().items() if k.startswith("features.conv")}


def _save_snapshot(path: Path, model: AlexNet, epoch: int, extra: dict[str, Any]) -> None:
    # A checkpoint dict like save_checkpoint's ("format", "model", "config") but with the conv-only
    # fp16 state dict as "model", so model_from_checkpoint(strict=False) loads it.
    atomic_save({"format": FORMAT, "model": conv_state_dict(model), "config": model.config_dict(),
                 "epoch": epoch, **extra}, path)


def epoch_indices(size: int, *, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> Tensor:
    """This process's training-image order for ``epoch``: a shard of one seeded shuffle.

    All processes draw the same permutation (seeded by ``seed`` and ``epoch``) and
    process ``rank`` takes every ``world_size``-th index from position ``rank``.
    The shards are disjoint and equally long (the last ``size % world_size``
    images of the permutation sit this epoch out), so every process takes the
    same number of steps, as DistributedDataParallel requires.
    """
    order = torch.randperm(size, generator=torch.Generator().manual_seed(_epoch_seed(seed, epoch, 0)))
    per_rank = size // world_size
    return order[rank : per_rank * world_size : world_size]


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A 63-bit seed for (run seed, epoch, stream), so each epoch's randomness is independent and replayable."""
    digest = hashlib.sha256(f"{seed}/{epoch}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


# --------------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------------


def fit(config: TrainConfig, *, resume: bool = False) -> dict[str, Any]:
    """Train as ``config`` says, writing ``<runs_dir>/<name>/``; returns the last epoch's metrics.

    With ``resume`` an existing ``checkpoint.pt`` of the run is continued from its
    last completed epoch (model, optimizer, schedule and metrics history restored;
    ``metrics.jsonl`` rewritten to exactly the checkpoint's epochs, so none is lost
    or repeated); without a checkpoint the run starts fresh. Without ``resume`` a
    run folder that already holds a checkpoint is refused rather than overwritten.
    """
    from alexnet.data import EvalPreset, TrainPreset
    from alexnet.paths import data_root

    dist = _init_distributed(config.device)
    try:
        return _fit(config, resume, dist, data_root, TrainPreset, EvalPreset)
    finally:
        if dist.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _fit(config, resume, dist, data_root, TrainPreset, EvalPreset) -> dict[str, Any]:
    device = resolve_device(config.device, dist)
    run_dir = run_dir_for(config)
    checkpoint_file = run_dir / CHECKPOINT_FILE
    root = Path(config.data) if config.data else data_root() / "imagenette"
    say = _printer(dist.is_main)

    checkpoint = None
    if checkpoint_file.is_file():
        if not resume:
            raise TrainError(
                f"run {config.name!r} already has a checkpoint ({checkpoint_file}); pass --resume to "
                "continue it or choose another --name"
            )
        checkpoint = load_checkpoint(checkpoint_file, map_location="cpu")
        for key in ("optimizer", "scheduler", "epoch", "metrics", "data_stats"):
            if key not in checkpoint:
                raise CheckpointError(f"{checkpoint_file.name} is not a training checkpoint (no {key!r})")
    elif resume:
        say(f"no checkpoint in {run_dir}; starting run {config.name!r} from the beginning")

    if dist.world_size > 1 and config.batch_size % dist.world_size:
        raise TrainError(f"batch size {config.batch_size} does not split evenly over {dist.world_size} processes")
    local_batch = config.batch_size // dist.world_size

    data = _load_data(config, root, device, dist, checkpoint["data_stats"] if checkpoint else None)
    train_preset = TrainPreset(data.stats.to(device), crop_size=config.crop_size, pca_std=config.pca_std,
                               flip=config.flip)
    eval_preset = EvalPreset(data.stats.to(device), crop_size=config.crop_size)

    torch.manual_seed(config.seed)  # the paper's initialisation draws from the global generator
    model = paper_init_(AlexNet(num_classes=len(data.classes), towers=config.towers, init=False),
                        positive_bias=config.init_bias)
    if checkpoint is not None:
        try:
            model.load_state_dict(checkpoint["model"])
        except RuntimeError as exc:
            raise CheckpointError(
                f"{checkpoint_file.name} does not fit this run's model: {str(exc).splitlines()[0]}"
            ) from None
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model.parameters(), config)
    schedule = PlateauSchedule.from_config(optimizer, config)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        schedule.load_state_dict(checkpoint["scheduler"])
        history = list(checkpoint["metrics"])
        start_epoch = int(checkpoint["epoch"])
        del checkpoint  # the optimizer state is now on the device; free the CPU copy
    net: nn.Module = model
    if dist.enabled:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    common = {
        "train_config": config.to_dict(),
        "data_stats": {k: v.cpu() for k, v in data.stats.state_dict().items()},
        "class_names": data.class_names,
        "classes": data.classes,
    }
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        # A run killed inside an atomic write leaves its temporary file (up to ~0.5 GB); nothing else
        # writes in this run folder, so any left now are stale.
        for stale in [*run_dir.glob(".*.tmp"), *(run_dir / SNAPSHOT_DIR).glob(".*.tmp")]:
            stale.unlink(missing_ok=True)
        atomic_write_text(config.to_json(), run_dir / CONFIG_FILE)
        # The metrics file holds exactly the epochs the checkpoint has: a kill between writing
        # the checkpoint and appending its line (or a torn line) cannot lose or repeat an epoch.
        atomic_write_text("".join(json.dumps(r) + "\n" for r in history), run_dir / METRICS_FILE)
        if start_epoch == 0 and config.should_snapshot(0):
            _save_snapshot(snapshot_path(run_dir, 0), model, 0, {**common, "metrics": None})
    say(f"run {config.name!r} in {run_dir}: {data.train_size} training / {data.val_size} validation images, "
        f"{len(data.classes)} classes, {config.towers} tower(s), device {device}"
        + (f", {dist.world_size} processes" if dist.enabled else ""))
    if start_epoch >= config.epochs:
        say(f"run {config.name!r} has already completed {start_epoch} of {config.epochs} epochs")
        return history[-1] if history else {}
    if start_epoch:
        say(f"resuming after epoch {start_epoch} (learning rate {schedule.lr:g})")

    sampler = _EpochSampler() if config.stream else None
    train_loader = (_loader(data.train_dataset, local_batch, config.workers, device, sampler)
                    if config.stream else None)
    record: dict[str, Any] = history[-1] if history else {}
    for epoch in range(start_epoch + 1, config.epochs + 1):
        started = time.perf_counter()
        torch.manual_seed(_epoch_seed(config.seed, epoch, 1000 + dist.rank))  # dropout masks
        shard = epoch_indices(data.train_size, seed=config.seed, epoch=epoch, rank=dist.rank,
                              world_size=dist.world_size)
        per_rank = shard.shape[0]
        augment = torch.Generator(device=device).manual_seed(_epoch_seed(config.seed, epoch, 2000 + dist.rank))
        if config.stream:
            sampler.indices = shard.tolist()
            batches: Iterable = train_loader
        else:
            batches = iterate_batches(data.train_images, data.train_targets, local_batch, shard.to(device))
        batches = _progress(batches, config.progress and dist.is_main, f"epoch {epoch}/{config.epochs}",
                            per_rank * dist.world_size, local_batch * dist.world_size)
        lr = schedule.lr
        train = train_one_epoch(net, optimizer, batches, train_preset, device=device, generator=augment,
                                bf16=config.bf16, channels_last=config.channels_last, dist=dist)
        val = _validate(model, data, eval_preset, config, device, dist, ten_crop=False)
        record = {"epoch": epoch, "lr": lr, **{k: train[k] for k in (
            "train_loss", "train_top1_error", "train_images", "images_per_s")},
            "val_top1_error": val["top1_error"], "val_top5_error": val["top5_error"],
            "val_images": val["images"]}
        if config.ten_crop_due(epoch):
            ten = _validate(model, data, eval_preset, config, device, dist, ten_crop=True)
            record["val_ten_crop_top1_error"] = ten["top1_error"]
            record["val_ten_crop_top5_error"] = ten["top5_error"]
        record["lr_dropped"] = schedule.step(val["top1_error"])
        record["epoch_seconds"] = time.perf_counter() - started
        record["time"] = datetime.now(UTC).isoformat(timespec="seconds")
        history.append(record)
        if dist.is_main:
            extra = {**common, "epoch": epoch, "metrics": history, "scheduler": schedule.state_dict()}
            atomic_save({"format": FORMAT, "model": model.state_dict(), "config": model.config_dict(),
                         "optimizer": optimizer.state_dict(), **extra}, checkpoint_file)
            _append_line(run_dir / METRICS_FILE, json.dumps(record))
            if config.should_snapshot(epoch):
                _save_snapshot(snapshot_path(run_dir, epoch), model, epoch, {**common, "metrics": record})
        say(_epoch_line(record, config.epochs))
        dist.barrier()
    return record


def _validate(model, data: _RunData, preset, config: TrainConfig, device, dist: DistInfo, *,
              ten_crop: bool) -> dict[str, float]:
    # Each process scores a disjoint shard of the validation set; evaluate() sums the counts.
    indices = torch.arange(data.val_size)[dist.rank :: dist.world_size]
    batch = config.eval_batch_size
    show = config.progress and dist.is_main
    desc = "validation (10 crops)" if ten_crop else "validation"
    if config.stream:
        loader = _loader(torch.utils.data.Subset(data.val_dataset, indices.tolist()), batch, config.workers,
                         device)
        batches = loader
    else:
        batches = iterate_batches(data.val_images, data.val_targets, batch, indices.to(device))
    batches = _progress(batches, show, desc, len(indices), batch)
    return evaluate(model, batches, preset, device=device, ten_crop=ten_crop, bf16=config.bf16,
                    channels_last=config.channels_last, dist=dist)


def _printer(enabled: bool):
    def say(message: str) -> None:
        if enabled:
            from tqdm.auto import tqdm

            tqdm.write(message, file=sys.stderr)

    return say


def _epoch_line(record: dict[str, Any], epochs: int) -> str:
    line = (f"epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f}, "
            f"train error {100 * record['train_top1_error']:.2f}%, "
            f"val top-1 {100 * record['val_top1_error']:.2f}%, top-5 {100 * record['val_top5_error']:.2f}%")
    if "val_ten_crop_top1_error" in record:
        line += (f" (10 crops: {100 * record['val_ten_crop_top1_error']:.2f}% / "
                 f"{100 * record['val_ten_crop_top5_error']:.2f}%)")
    line += f", lr {record['lr']:g}, {record['images_per_s']:.1f} images/s"
    if record.get("lr_dropped"):
        line += " [learning rate divided]"
    return line


# --------------------------------------------------------------------------------------------------
# Evaluating a saved checkpoint
# --------------------------------------------------------------------------------------------------


def evaluate_checkpoint(
    checkpoint_path: str | os.PathLike,
    data: str | os.PathLike,
    *,
    split: str = "val",
    crops: Sequence[str] = ("centre",),
    subset: int | None = None,
    batch_size: int = 128,
    device: str = "auto",
    seed: int = 0,
    progress: bool = False,
) -> dict[str, dict[str, float]]:
    """Top-1/top-5 error of a training checkpoint on ``data/<split>``: {"centre": {...}, "ten_crop": {...}}.

    Images are pre-processed with the statistics stored in the checkpoint
    (``data_stats``), exactly as in training; the folder's classes must be the
    checkpoint's. ``subset`` scores a fixed, seeded subset of the images.
    """
    from alexnet.data import DatasetStats, EvalPreset, find_split, load_image_folder

    for crop in crops:
        if crop not in ("centre", "ten_crop"):
            raise ValueError(f"unknown crop mode {crop!r} (centre or ten_crop)")
    checkpoint = load_checkpoint(checkpoint_path)
    name = Path(checkpoint_path).name
    if "data_stats" not in checkpoint:
        raise CheckpointError(f"{name} has no data_stats (the statistics its images were normalised with)")
    try:
        stats = DatasetStats.from_state_dict(checkpoint["data_stats"])
    except DataError as exc:
        raise CheckpointError(f"{name}: {exc}") from None
    if not any(key.startswith("classifier.") for key in checkpoint["model"]):
        raise CheckpointError(
            f"{name} holds only the conv layers (a training snapshot); evaluating needs a full checkpoint "
            "such as <run>/checkpoint.pt"
        )
    model = model_from_checkpoint(checkpoint, strict=True)
    folder = find_split(data, split)
    images = load_image_folder(folder, progress=progress)
    trained_on = checkpoint.get("classes")
    if trained_on is not None and list(trained_on) != list(images.classes):
        raise DataError(
            f"{folder} has {len(images.classes)} classes that differ from the {len(trained_on)} "
            f"the checkpoint was trained on ({', '.join(trained_on[:3])}...)"
        )
    if model.config.num_classes != len(images.classes):
        raise DataError(
            f"{folder} has {len(images.classes)} classes but the model has {model.config.num_classes} outputs"
        )
    target_device = resolve_device(device)
    model.to(target_device)
    preset = EvalPreset(stats.to(target_device), crop_size=int(
        (checkpoint.get("train_config") or {}).get("crop_size", 227)))
    indices = _subset_indices(len(images), subset, seed)
    results = {}
    for crop in crops:
        batch = batch_size
        batches = iterate_batches(images.images, images.targets, batch, indices)
        batches = _progress(batches, progress, f"{crop} crop", len(indices) if indices is not None
                            else len(images), batch)
        results[crop] = evaluate(model, batches, preset, device=target_device, ten_crop=crop == "ten_crop")
    return results
