"""Top-1/top-5 error of a model: ``evaluate`` over batches (centre or 10 crops), ``evaluate_checkpoint`` of a run."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from alexnet.checkpoint import load_checkpoint, resolve_checkpoint
from alexnet.distributed import SINGLE_PROCESS, DistInfo, resolve_device
from alexnet.errors import DataError, TrainError
from alexnet.inputs import iterate_batches, subset_indices, with_progress
from alexnet.metrics import topk_wrong
from alexnet.predict import Classifier, classifier_from_checkpoint


def forward(model: nn.Module, inputs: Tensor, device: torch.device, bf16: bool, channels_last: bool) -> Tensor:
    """``model(inputs)``, in channels-last layout and under bfloat16 autocast when asked (training too)."""
    if channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with autocast:
        return model(inputs)


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
    dist: DistInfo = SINGLE_PROCESS,
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
                    scores = forward(model, crops.flatten(0, 1), device, bf16, channels_last)
                    probabilities.append(scores.float().softmax(dim=1).view(n, 10, -1).mean(dim=1))
                scores = torch.cat(probabilities)
            else:
                scores = forward(model, preset(images), device, bf16, channels_last).float()
            w1, w5 = topk_wrong(scores, targets, (1, 5))
            wrong1, wrong5, seen = wrong1 + w1, wrong5 + w5, seen + targets.shape[0]
    finally:
        model.train(was_training)
    wrong1, wrong5, seen = dist.sum([wrong1, wrong5, seen], device)
    if seen == 0:
        raise TrainError("no images to evaluate")
    return {"top1_error": wrong1 / seen, "top5_error": wrong5 / seen, "images": int(seen)}


def evaluate_checkpoint(checkpoint_path: str | os.PathLike, data: str | os.PathLike,
                        **options: Any) -> dict[str, dict[str, float]]:
    """Top-1/top-5 error of a training checkpoint on ``data/<split>``: {"centre": {...}, "ten_crop": {...}}.

    ``checkpoint_path`` is a checkpoint file or a run folder (its ``checkpoint.pt``). Images are
    pre-processed with the statistics stored in the checkpoint (``data_stats``), exactly as in
    training; the folder's classes must be the checkpoint's. ``options`` are ``evaluate_classifier``'s.
    """
    name = resolve_checkpoint(checkpoint_path).name
    classifier = classifier_from_checkpoint(load_checkpoint(checkpoint_path), name)
    return evaluate_classifier(classifier, data, trained_on=classifier.classes, **options)


def evaluate_classifier(
    classifier: Classifier,
    data: str | os.PathLike,
    *,
    split: str = "val",
    crops: Sequence[str] = ("centre",),
    subset: int | None = None,
    batch_size: int = 128,
    device: str = "auto",
    seed: int = 0,
    progress: bool = False,
    trained_on: list[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Top-1/top-5 error of a loaded model on ``data/<split>`` for each of ``crops`` ("centre", "ten_crop").

    ``subset`` scores a fixed, seeded subset of the images; ``trained_on`` (the class folders the
    model learnt) must match the folder's classes when given. The export scores each compression this way.
    """
    for crop in crops:
        if crop not in ("centre", "ten_crop"):
            raise ValueError(f"unknown crop mode {crop!r} (centre or ten_crop)")
    from alexnet.data import EvalPreset, find_split, load_image_folder

    folder = find_split(data, split)
    images = load_image_folder(folder, progress=progress)
    model = classifier.model
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
    preset = EvalPreset(classifier.preset.stats.to(target_device), crop_size=classifier.preset.crop_size)
    indices = subset_indices(len(images), subset, seed)
    results = {}
    for crop in crops:
        batch = batch_size
        batches = iterate_batches(images.images, images.targets, batch, indices)
        batches = with_progress(batches, progress, f"{crop} crop", len(indices) if indices is not None
                                else len(images), batch)
        results[crop] = evaluate(model, batches, preset, device=target_device, ten_crop=crop == "ten_crop")
    return results
