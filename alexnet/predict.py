"""Top-K class predictions of a trained AlexNet for image files: what `alexnet predict` prints.

An image is prepared exactly as validation images are in training (``decode_image_file``: shorter
side to 256, centre 256x256; ``EvalPreset``: minus the training set's mean image, then the centre
227x227 crop or the paper's ten crops with their softmax outputs averaged, section 4.1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from alexnet.checkpoint import load_checkpoint, model_from_checkpoint, resolve_checkpoint
from alexnet.data import DatasetStats, EvalPreset, decode_image_file
from alexnet.errors import CheckpointError, DataError
from alexnet.model import AlexNet


@dataclass(frozen=True)
class Classifier:
    """A trained model with what it needs to read images and name its outputs."""

    model: AlexNet
    preset: EvalPreset
    classes: list[str]  # the class folders it was trained on (e.g. n01440764), index = output
    class_names: list[str]  # readable names in the same order (e.g. tench)
    source: str  # where it came from, for messages and cache keys


def classifier_from_checkpoint(checkpoint: dict[str, Any], source: str) -> Classifier:
    """A Classifier from a checkpoint dict; one-line ``CheckpointError`` when it cannot classify.

    The one place that checks a checkpoint can score images (``alexnet predict``, ``alexnet
    evaluate``, the export's measurements): fully connected layers present, dataset statistics
    present and usable, class lists as long as the model's outputs. The crop size is training's.
    """
    if not any(key.startswith("classifier.") for key in checkpoint.get("model", {})):
        raise CheckpointError(
            f"{source} holds only the conv layers (a training snapshot), so it cannot classify images; "
            "use a full checkpoint such as <run>/checkpoint.pt"
        )
    if "data_stats" not in checkpoint:
        raise CheckpointError(f"{source} has no data_stats (the statistics its images were normalised with)")
    try:
        stats = DatasetStats.from_state_dict(checkpoint["data_stats"])
    except DataError as exc:
        raise CheckpointError(f"{source}: {exc}") from None
    model = model_from_checkpoint(checkpoint)
    n = model.config.num_classes
    classes = list(checkpoint.get("classes") or [str(i) for i in range(n)])
    names = list(checkpoint.get("class_names") or classes)
    if len(classes) != n or len(names) != n:
        raise CheckpointError(f"{source} names {len(classes)} classes but the model has {n} outputs")
    crop = int((checkpoint.get("train_config") or {}).get("crop_size", 227))
    return Classifier(model, EvalPreset(stats, crop_size=crop), classes, names, source)


def load_classifier(checkpoint: str | os.PathLike | None = None) -> Classifier:
    """The model in ``checkpoint`` (a file or a run folder), or the bundled reference model when None."""
    if checkpoint is None:
        from alexnet.reference import REFERENCE_DIR, load_reference_checkpoint

        return classifier_from_checkpoint(load_reference_checkpoint(), f"bundled reference model ({REFERENCE_DIR})")
    return classifier_from_checkpoint(load_checkpoint(checkpoint), resolve_checkpoint(checkpoint).name)


@torch.inference_mode()
def probabilities(classifier: Classifier, images: Tensor, *, ten_crop: bool = False) -> Tensor:
    """uint8 (N, 3, 256, 256) -> softmax probabilities (N, classes); ten crops average their softmax."""
    if ten_crop:
        crops = classifier.preset.ten_crop(images)  # (N, 10, 3, 227, 227)
        n = crops.shape[0]
        return classifier.model(crops.flatten(0, 1)).softmax(dim=1).view(n, 10, -1).mean(dim=1)
    return classifier.model(classifier.preset(images)).softmax(dim=1)


def top_classes(classifier: Classifier, probs: Tensor, k: int) -> list[list[dict[str, Any]]]:
    """The ``k`` most probable classes of each row: [{"class", "name", "probability"}, ...]."""
    k = min(k, probs.shape[1])
    values, indices = probs.topk(k, dim=1)
    return [
        [{"class": classifier.classes[i], "name": classifier.class_names[i], "probability": float(p)}
         for p, i in zip(row_p.tolist(), row_i.tolist(), strict=True)]
        for row_p, row_i in zip(values, indices, strict=True)
    ]


def predict_files(
    classifier: Classifier, paths: list[str | os.PathLike], *, k: int = 5, ten_crop: bool = False
) -> list[dict[str, Any]]:
    """One entry per path, in order: ``{"image", "top"}``, or ``{"image", "error"}`` when it cannot be read.

    A file that cannot be decoded does not stop the others (its error is one line naming it).
    """
    results: list[dict[str, Any]] = []
    for path in paths:
        try:
            image = decode_image_file(Path(path)).unsqueeze(0)
        except DataError as exc:
            results.append({"image": str(path), "error": str(exc)})
            continue
        top = top_classes(classifier, probabilities(classifier, image, ten_crop=ten_crop), k)[0]
        results.append({"image": str(path), "top": top})
    return results


__all__ = ["Classifier", "classifier_from_checkpoint", "load_classifier", "predict_files", "probabilities",
           "top_classes"]
