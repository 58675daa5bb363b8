"""Cached computations over the data folder: validation scores, Figure 4 neighbours, dataset examples.

Split from pages/caching.py (per-image and per-model caches) so that each stays one idea."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st
from PIL import Image

from alexnet.predict import Classifier
from explorer.channel_views import patch_grid
from explorer.dataset_examples import DecodedImages, UnitExamples, build_unit_examples, top_patches
from explorer.figure4 import example_rows, neighbour_agreement, neighbours_of, top1_accuracy
from explorer.figures import png_bytes
from explorer.models import LoadedModel
from explorer.validation import model_on_dataset, score_folder, validation_samples, validation_summary
from pages.caching import cached_units


@st.cache_data(ttl=20, max_entries=16, show_spinner=False)
def cached_validation_samples(dataset: str, class_names: tuple[str, ...] | None) -> dict[str, tuple[str, str]]:
    """``explorer.validation.validation_samples`` ({label: (file, true class)}); a short ttl notices new data."""
    return {label: (str(path), true) for label, (path, true) in validation_samples(dataset, class_names).items()}


@st.cache_resource(ttl=20, max_entries=8, show_spinner=False)
def cached_dataset_classifier(
    model_key: str, dataset: str, splits: tuple[str, ...], _loaded: LoadedModel
) -> tuple[Classifier | None, str | None]:
    """``explorer.validation.model_on_dataset``: the model as a classifier of the folder's classes, or why not."""
    return model_on_dataset(_loaded, dataset, splits)


@st.cache_resource(max_entries=4, show_spinner=False)
def _scores(model_key: str, folder: str, what: str, _classifier: Classifier) -> dict[str, Any]:
    # The first time for a model: a progress bar while every image goes through it (then disk, then memory).
    bar = st.progress(0.0, text=f"{what}: reading ...")

    def report(done: int, total: int) -> None:
        bar.progress(done / max(1, total), text=f"{what}: {done:,} of {total:,} images through the model")

    try:
        return score_folder(_classifier, folder, on_progress=report)
    finally:
        bar.empty()


def _split_scores(model_key: str, dataset: str, split: str, classifier: Classifier) -> dict[str, Any]:
    what = {"val": "Validation images", "train": "Training images (fc7 vectors, needed once)"}[split]
    return _scores(model_key, f"{dataset}/{split}", what, classifier)


@st.cache_data(max_entries=8, show_spinner=False)
def cached_validation(model_key: str, dataset: str, _classifier: Classifier) -> dict[str, Any]:
    """``explorer.validation.validation_summary`` of the validation split (confusion matrix, errors)."""
    return validation_summary(_split_scores(model_key, dataset, "val", _classifier))


@st.cache_data(max_entries=8, show_spinner=False)
def cached_figure4_scores(model_key: str, dataset: str, _classifier: Classifier) -> dict[str, Any]:
    """Top-1 accuracy and nearest-neighbour agreement on the validation split; computes both splits' vectors."""
    val = _split_scores(model_key, dataset, "val", _classifier)
    train = _split_scores(model_key, dataset, "train", _classifier)
    return {
        "top1": top1_accuracy(val),
        "agreement": neighbour_agreement(train, val),
        "val_images": len(val["paths"]),
        "train_images": len(train["paths"]),
        "labels": val["labels"].tolist(),
    }


@st.cache_data(max_entries=64, show_spinner=False)
def cached_examples(model_key: str, dataset: str, indices: tuple[int, ...], _classifier: Classifier) -> list[dict]:
    """``explorer.figure4.example_rows`` of the chosen validation images."""
    val = _split_scores(model_key, dataset, "val", _classifier)
    train = _split_scores(model_key, dataset, "train", _classifier)
    return example_rows(val, train, list(indices))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_image_neighbours(
    model_key: str, dataset: str, image_hash: str, _classifier: Classifier, _loaded: LoadedModel, _image: Image.Image
) -> list[dict]:
    """The training images nearest the user's image in fc7 space (``explorer.figure4.neighbours_of``)."""
    train = _split_scores(model_key, dataset, "train", _classifier)
    return neighbours_of(train, cached_units(model_key, image_hash, _loaded, _image)["relu7"])[0]


# --------------------------------------------------------------------------------------------------
# One channel: its map over the photo, dataset examples, feature visualisation
# --------------------------------------------------------------------------------------------------



@st.cache_resource(show_spinner=False)
def _built_indexes() -> dict[tuple[str, str], UnitExamples]:
    # Process-wide: which (model, dataset) indexes this server has built or read, for every session.
    return {}


def unit_examples_ready(model_key: str, dataset: str) -> UnitExamples | None:
    """The dataset-examples index of this model and dataset if this server built (or read) it already, else None."""
    return _built_indexes().get((model_key, dataset))


def build_unit_examples_now(model_key: str, dataset: str, classifier: Classifier) -> UnitExamples:
    """``explorer.dataset_examples.build_unit_examples`` with a progress bar (read from disk when cached there)."""
    built = unit_examples_ready(model_key, dataset)
    if built is not None:
        return built
    bar = st.progress(0.0, text="Dataset examples: reading the images ...")
    started = time.perf_counter()

    def report(done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - started, 1e-6)
        left = (total - done) / max(rate, 1e-6)
        bar.progress(done / max(1, total), text=f"Dataset examples: {done:,} of {total:,} images ({left:.0f} s left)")

    try:
        index = build_unit_examples(classifier, dataset, progress=report, show_progress=False)
    finally:
        bar.empty()
    _built_indexes()[(model_key, dataset)] = index
    return index


@st.cache_resource(max_entries=2, show_spinner="Reading the decoded images ...")
def _decoded(index_key: str, _index: UnitExamples) -> DecodedImages:
    return DecodedImages(_index)


@st.cache_data(max_entries=2048, show_spinner=False)
def cached_patches_png(index_key: str, layer: str, channel: int, target: int, _index: UnitExamples) -> bytes:
    """PNG: the channel's top patches (receptive fields at its strongest places) on a 3x3 grid ~``target`` wide."""
    patches = top_patches(_index, layer, channel, images=_decoded(index_key, _index))
    return png_bytes(patch_grid(patches, target=target))



# --------------------------------------------------------------------------------------------------
# Why this class? Attribution maps of one image
# --------------------------------------------------------------------------------------------------


__all__ = [
    "build_unit_examples_now",
    "cached_dataset_classifier",
    "cached_examples",
    "cached_figure4_scores",
    "cached_image_neighbours",
    "cached_patches_png",
    "cached_validation",
    "cached_validation_samples",
    "unit_examples_ready",
]
