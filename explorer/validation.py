"""Model on a labelled folder: fc7 vectors and scores of its images, confusion matrix, per-class error (no Streamlit).

Images are prepared as ``alexnet evaluate`` prepares them (``decode_image_file``: shorter side 256,
centre 256x256; ``EvalPreset``: minus the mean image, centre 227x227 crop) and scored in batches, with
a callback after each batch for a progress bar. One pass gives both the class scores (validation) and
the fc7 vectors after the ReLU (``alexnet.neighbours``' definition, for Figure 4's neighbours).
Results are kept on disk by ``alexnet.neighbours.folder_outputs`` (``$ALEXNET_CACHE_DIR/fc7/``, keyed by
the model's weights and the folder's files), shared with ``alexnet neighbours`` and the export script.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from alexnet.data import EvalPreset, class_names, list_image_folder
from alexnet.errors import DataError
from alexnet.neighbours import BATCH, folder_outputs
from alexnet.paths import data_root
from alexnet.predict import Classifier
from explorer.activations import model_lock
from explorer.images import fixed_mean_stats
from explorer.models import LoadedModel

__all__ = [
    "DATASET",
    "DATA_HINT",
    "FolderClasses",
    "class_rows",
    "confusion_figure",
    "confusion_matrix",
    "confusion_rows",
    "dataset_folder",
    "folder_classes",
    "match_classifier",
    "missing_data",
    "model_on_dataset",
    "per_class_error",
    "score_folder",
    "validation_samples",
    "validation_summary",
]

DATASET = "imagenette"
DATA_HINT = (
    "set ALEXNET_DATA_ROOT to a folder holding imagenette/train and imagenette/val in ImageFolder layout "
    "(<class>/<image files>), e.g. the Imagenette subset described in README.md, 'Where data goes'"
)

Progress = Callable[[int, int], None]


def dataset_folder(root: str | os.PathLike | None = None) -> Path:
    """``<data root>/imagenette``: the folder the bundled model was trained on."""
    return Path(root if root is not None else data_root()) / DATASET


def missing_data(folder: str | os.PathLike, splits: Sequence[str] = ("val",)) -> str | None:
    """One line saying what is missing and how to get it, or None when every split's folder is there."""
    folder = Path(folder)
    missing = [split for split in splits if not (folder / split).is_dir()]
    if not missing:
        return None
    where = " and ".join(str(folder / split) for split in missing)
    return f"No data folder at {where}: {DATA_HINT}."


@dataclass(frozen=True)
class FolderClasses:
    """A dataset's classes in label order: ``folders`` (sorted subfolder names) and readable ``names``."""

    folders: list[str]
    names: list[str]


def folder_classes(dataset: str | os.PathLike, split: str = "val") -> FolderClasses:
    """Class folders of ``dataset/split`` and their names from ``dataset/classes.tsv`` (else the folder names)."""
    folders = sorted(e.name for e in os.scandir(Path(dataset) / split) if e.is_dir() and not e.name.startswith("."))
    names = class_names(dataset)
    if names is None or len(names) != len(folders):
        names = folders
    return FolderClasses(list(folders), list(names))


def match_classifier(
    model: nn.Module, preset: EvalPreset, model_names: Sequence[str] | None, classes: FolderClasses, source: str
) -> Classifier | None:
    """The model as an ``alexnet.predict.Classifier`` of the dataset's classes; None unless it knows exactly those.

    A model's classes are matched by readable name (or by folder name, for a model trained on a folder
    without classes.tsv), in any order: ``classes[i]`` is the folder of the model's output ``i``.
    """
    if not model_names or len(model_names) != len(classes.folders):
        return None
    for keys in (classes.names, classes.folders):
        if set(model_names) == set(keys):
            folder_of = dict(zip(keys, classes.folders, strict=True))
            return Classifier(model, preset, [folder_of[n] for n in model_names], list(model_names), source)  # type: ignore[arg-type]
    return None


def model_on_dataset(
    loaded: LoadedModel, dataset: str | os.PathLike, splits: Sequence[str] = ("val",)
) -> tuple[Classifier | None, str | None]:
    """The dashboard's model as a classifier of the dataset's classes, or (None, one line saying why not)."""
    dataset = Path(dataset)
    missing = missing_data(dataset, splits)
    if missing is not None:
        return None, missing
    if not loaded.has_classifier:
        return None, loaded.classifier_note or f"{loaded.label} has no trained classifier."
    classes = folder_classes(dataset)
    preset = EvalPreset(loaded.data_stats if loaded.data_stats is not None else fixed_mean_stats())
    classifier = match_classifier(loaded.model, preset, loaded.class_names, classes, loaded.label)
    if classifier is None:
        known = len(loaded.class_names or [])
        return None, (
            f"{loaded.label} knows {known} classes, not the {len(classes.folders)} classes of {dataset}; "
            "choose a model trained on them (the bundled reference model) in the sidebar."
        )
    return classifier, None


def validation_samples(
    dataset: str | os.PathLike, model_names: Sequence[str] | None, per_class: int = 2
) -> dict[str, tuple[Path, str]]:
    """``{"val: tench 1": (file, "tench"), ...}``: the first ``per_class`` validation images of each known class.

    A class counts as known when the model names it (readable name or folder name), so a model trained
    on more classes (torchvision's 1,000) gets the ones it shares. {} without the folder or class names.
    """
    folder = Path(dataset) / "val"
    if not model_names or not folder.is_dir():
        return {}
    known = set(model_names)
    classes = folder_classes(dataset)
    try:
        folders, samples = list_image_folder(folder)
    except DataError:
        return {}
    label_of = {
        wnid: name if name in known else wnid
        for wnid, name in zip(classes.folders, classes.names, strict=True)
        if name in known or wnid in known
    }
    found: dict[str, tuple[Path, str]] = {}
    taken = dict.fromkeys(label_of, 0)
    for path, index in samples:
        wnid = folders[index]
        if wnid in taken and taken[wnid] < per_class:
            taken[wnid] += 1
            found[f"val: {label_of[wnid]} {taken[wnid]}"] = (path, label_of[wnid])
    return found


def score_folder(
    classifier: Classifier,
    folder: str | os.PathLike,
    *,
    on_progress: Progress | None = None,
    batch_size: int = BATCH,
    cache: bool = True,
) -> dict[str, Any]:
    """Every image of an ImageFolder-layout ``folder`` through the model (``alexnet.neighbours.folder_outputs``).

    Returns that dict (fc7 ``features``, ``sq_norms``, ``labels``, ``paths``, ``classes``, so ``nearest``,
    ``neighbour_rows`` and ``majority_agreement`` take it as it is) with ``logits`` reordered to the
    folder's class order and ``class_names`` (readable names) added. ``on_progress(done, total)`` is
    called after each batch (and once at the start with 0); a cached folder calls it never.
    """
    folder = Path(folder).expanduser().resolve()
    classes, _ = list_image_folder(folder)
    unknown = [c for c in classes if c not in classifier.classes]
    if unknown:
        raise DataError(f"{folder} has classes the model does not know: {', '.join(unknown[:3])}")
    order = [classifier.classes.index(c) for c in classes]  # the model's output for each folder class
    model = classifier.model
    # The model is shared: no other session's capture hooks may see this pass.
    outputs = folder_outputs(classifier, folder, on_progress=on_progress, batch_size=batch_size, cache=cache,
                             guard=lambda: model_lock(model))
    return {**outputs, "logits": outputs["logits"][:, order],
            "class_names": [classifier.class_names[i] for i in order]}


def confusion_matrix(labels: Any, predicted: Any, classes: int) -> np.ndarray:
    """int64 (classes, classes): row = true class, column = predicted class, entry = number of images."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    predicted = np.asarray(predicted, dtype=np.int64).reshape(-1)
    if labels.shape != predicted.shape:
        raise ValueError(f"{labels.size} labels but {predicted.size} predictions")
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def per_class_error(confusion: np.ndarray) -> np.ndarray:
    """Share of each true class's images predicted as another class (NaN for a class without images)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - np.diag(confusion) / totals


def validation_summary(outputs: dict[str, Any]) -> dict[str, Any]:
    """Confusion matrix, per-class error, top-1 and top-5 error of ``score_folder``'s result (small: cacheable)."""
    logits = torch.as_tensor(outputs["logits"])
    labels = torch.as_tensor(outputs["labels"])
    n = logits.shape[1]
    confusion = confusion_matrix(labels.numpy(), logits.argmax(dim=1).numpy(), n)
    top5 = logits.topk(min(5, n), dim=1).indices
    return {
        "class_names": list(outputs["class_names"]),
        "confusion": confusion,
        "per_class_error": per_class_error(confusion),
        "top1_error": 1.0 - float(np.trace(confusion)) / max(1, int(confusion.sum())),
        "top5_error": 1.0 - float((top5 == labels[:, None]).any(dim=1).float().mean()) if len(labels) else float("nan"),
        "images": int(labels.numel()),
    }


def confusion_figure(confusion: np.ndarray, names: Sequence[str], *, title: str = ""):
    """Plotly heat map of a confusion matrix: colour = share of the true class, non-zero counts written in the cells."""
    import plotly.graph_objects as go

    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1, keepdims=True)
    share = np.divide(confusion, totals, out=np.zeros(confusion.shape, dtype=np.float64), where=totals > 0)
    names = [str(n) for n in names]
    trace = {
        "type": "heatmap",
        "z": share.tolist(),
        "x": names,
        "y": names,
        "zmin": 0.0,
        "zmax": 1.0,
        "colorscale": "Blues",
        "colorbar": {"title": {"text": "share of<br>true class"}},
        "text": [[str(n) if n else "" for n in row] for row in confusion.tolist()],  # zeros left blank
        "customdata": confusion.tolist(),
        "texttemplate": "%{text}",
        "hovertemplate": "true %{y}, predicted %{x}: %{customdata} images (%{z:.0%})<extra></extra>",
    }
    layout = {
        "height": 160 + 34 * len(names),
        "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        "xaxis": {"title": {"text": "predicted class"}, "side": "bottom", "tickangle": -35, "automargin": True},
        "yaxis": {"title": {"text": "true class"}, "autorange": "reversed", "automargin": True},
    }
    if title:
        layout["title"] = {"text": title}
    return go.Figure({"data": [trace], "layout": layout})


def class_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per class of ``validation_summary``: images, correct, error, and the class it is most often taken for."""
    confusion = np.asarray(summary["confusion"])
    names = summary["class_names"]
    rows = []
    for i, name in enumerate(names):
        wrong = confusion[i].copy()
        wrong[i] = 0
        rows.append({
            "class": name,
            "images": int(confusion[i].sum()),
            "correct": int(confusion[i, i]),
            "error": float(summary["per_class_error"][i]),
            "most often taken for": names[int(wrong.argmax())] if wrong.any() else "",
        })
    return rows


def confusion_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The confusion matrix as CSV rows: the true class, then one count per predicted class."""
    names = summary["class_names"]
    return [
        {"true class": name, **{f"predicted {p}": int(n) for p, n in zip(names, row, strict=True)}}
        for name, row in zip(names, np.asarray(summary["confusion"]), strict=True)
    ]
