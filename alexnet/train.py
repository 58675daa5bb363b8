"""The training loop with the paper's recipe (Krizhevsky et al. 2012, sections 4-5): ``train_one_epoch`` and ``fit``.

Structured like torchvision's classification references: ``train_one_epoch``,
``evaluate`` (``alexnet.evaluate``) and ``fit(config)`` (what ``alexnet train``
runs). The run folder it writes is described in ``alexnet.runs``; top-k error
is ``alexnet.metrics``; data-parallel setup is ``alexnet.distributed``.

Input pipeline. When the training set fits in memory it is held as one uint8
tensor on the training device (GPU included); each epoch shuffles indices with
a generator seeded by (seed, epoch), slices batches and augments them on the
device with ``TrainPreset`` (no DataLoader, no per-image Python). ``stream=True``
reads images through DataLoader workers (``StreamingImageFolder``) and augments
the collated uint8 batches on the device the same way. Loading and batching
live in ``alexnet.inputs``.

Reproducibility. Every epoch reseeds shuffling, augmentation and dropout from
(seed, epoch, rank), so a run resumed from epoch k's checkpoint continues
exactly as the uninterrupted run would have (bit for bit on CPU).

Data parallelism. Under ``torchrun --nproc_per_node=N`` each process holds the
model (DistributedDataParallel averages gradients), takes a disjoint shard of
the epoch's shuffled indices and a batch of ``batch_size // N`` images, so the
global batch stays the paper's 128. Rank 0 alone writes files.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from alexnet.checkpoint import FORMAT, atomic_save, atomic_write_text, load_checkpoint
from alexnet.config import TrainConfig
from alexnet.distributed import SINGLE_PROCESS, DistInfo, init_distributed, resolve_device
from alexnet.errors import CheckpointError, TrainError
from alexnet.evaluate import evaluate, forward
from alexnet.inputs import EpochSampler, RunData, iterate_batches, load_run_data, make_loader, with_progress
from alexnet.model import AlexNet, paper_init_
from alexnet.optim import PlateauSchedule, make_optimizer
from alexnet.runs import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    SNAPSHOT_DIR,
    append_line,
    run_dir_for,
    snapshot_path,
)


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
    dist: DistInfo = SINGLE_PROCESS,
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
        logits = forward(model, preset(images, generator=generator), device, bf16, channels_last)
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


# --------------------------------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------------------------------


def conv_state_dict(model: AlexNet, dtype: torch.dtype = torch.float16) -> dict[str, Tensor]:
    """The conv layers' weights and biases (``features.convN.*``) as ``dtype`` copies on the CPU."""
    return {k: v.detach().to("cpu", dtype) for k, v in model.state_dict().items() if k.startswith("features.conv")}


def _save_snapshot(path: Path, model: AlexNet, epoch: int, extra: dict[str, Any]) -> None:
    # A checkpoint dict like save_checkpoint's ("format", "model", "config") but with the conv-only
    # fp16 state dict as "model", so model_from_checkpoint(strict=False) loads it.
    atomic_save({"format": FORMAT, "model": conv_state_dict(model), "config": model.config_dict(),
                 "epoch": epoch, **extra}, path)


# --------------------------------------------------------------------------------------------------
# Seeds: every epoch's randomness is a function of (seed, epoch, rank), so a resumed run replays it
# --------------------------------------------------------------------------------------------------


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
    dist = init_distributed(config.device)
    try:
        return _fit(config, resume, dist)
    finally:
        if dist.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _fit(config: TrainConfig, resume: bool, dist: DistInfo) -> dict[str, Any]:
    from alexnet.data import EvalPreset, TrainPreset  # loads torchvision: only when a run starts
    from alexnet.paths import data_root

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

    data = load_run_data(config, root, device, dist, checkpoint["data_stats"] if checkpoint else None)
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
        data.skips.write(run_dir)  # files left out while loading (skip_unreadable)
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

    sampler = EpochSampler() if config.stream else None
    train_loader = (make_loader(data.train_dataset, local_batch, config.workers, device, sampler, data.skips)
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
        batches = with_progress(batches, config.progress and dist.is_main, f"epoch {epoch}/{config.epochs}",
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
        if config.skip_unreadable:
            data.skips.gather(dist)
            record["skipped_files"] = len(data.skips.files)
        record["epoch_seconds"] = time.perf_counter() - started
        record["time"] = datetime.now(UTC).isoformat(timespec="seconds")
        history.append(record)
        if dist.is_main:
            extra = {**common, "epoch": epoch, "metrics": history, "scheduler": schedule.state_dict()}
            atomic_save({"format": FORMAT, "model": model.state_dict(), "config": model.config_dict(),
                         "optimizer": optimizer.state_dict(), **extra}, checkpoint_file)
            append_line(run_dir / METRICS_FILE, json.dumps(record))
            data.skips.write(run_dir)
            if config.should_snapshot(epoch):
                _save_snapshot(snapshot_path(run_dir, epoch), model, epoch, {**common, "metrics": record})
        say(_epoch_line(record, config.epochs))
        dist.barrier()
    return record


def _validate(model, data: RunData, preset, config: TrainConfig, device, dist: DistInfo, *,
              ten_crop: bool) -> dict[str, float]:
    # Each process scores a disjoint shard of the validation set; evaluate() sums the counts.
    indices = torch.arange(data.val_size)[dist.rank :: dist.world_size]
    batch = config.eval_batch_size
    show = config.progress and dist.is_main
    desc = "validation (10 crops)" if ten_crop else "validation"
    if config.stream:
        batches = make_loader(torch.utils.data.Subset(data.val_dataset, indices.tolist()), batch,
                              config.workers, device, skips=data.skips)
    else:
        batches = iterate_batches(data.val_images, data.val_targets, batch, indices.to(device))
    batches = with_progress(batches, show, desc, len(indices), batch)
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
    if record.get("skipped_files"):
        line += f", {record['skipped_files']} unreadable files skipped (listed in skipped.txt)"
    if record.get("lr_dropped"):
        line += " [learning rate divided]"
    return line
