"""Widgets the pages share: the image picker, the model notice, PNG/thumbnail display, download buttons."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st
from PIL import Image
from streamlit_image_coordinates import streamlit_image_coordinates

from alexnet.errors import DataError
from explorer.channel_views import top_examples_caption
from explorer.dataset_examples import UnitExamples
from explorer.figures import csv_bytes, png_bytes
from explorer.images import ACCEPTED_NAMES, UPLOAD_TYPES, sample_images
from explorer.models import LoadedModel
from explorer.validation import dataset_folder, folder_classes, missing_data
from pages.caching import cached_feature_vis, cached_thumbnail
from pages.dataset_caching import (
    build_unit_examples_now,
    cached_dataset_classifier,
    cached_patches_png,
    cached_validation_samples,
    unit_examples_ready,
)
from pages.state import ChosenImage, accept_image, current_image, current_model

__all__ = [
    "channel_examples",
    "clickable_png",
    "download_buttons",
    "feature_vis_panel",
    "image_picker",
    "require_image",
    "show_notice",
    "show_png",
    "show_thumbnail",
    "unit_examples_index",
]

INDEX_COST = (
    "Dataset examples take one pass over the data folder's train and val images (5,000 for Imagenette: about "
    "3 minutes on a CPU), once per model; the result is kept on disk, and the button then reads it in seconds."
)

_IMAGE_SOURCE_STATE = "explorer_image_source"  # the picker's source, shared by every page's picker
_IMAGE_SOURCES = ("Sample images", "Upload", "Camera")
DEFAULT_SAMPLE = "cat"  # explorer/samples/cat.jpg: a tabby cat, an ImageNet class


def show_notice(loaded: LoadedModel) -> None:
    """The plain notice every page shows about the model (untrained, not the paper's network ...)."""
    if loaded.notice:
        st.info(loaded.notice, icon=":material/info:")


@st.cache_data(max_entries=64, show_spinner=False)
def _read_sample(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def image_picker(key: str) -> tuple[Image.Image, str] | None:
    """Choose an image by upload, camera or sample gallery; returns (image, image_hash) or None.

    The choice is the session's, not the page's: it persists in st.session_state across pages, so
    every page shows the same image until the user picks another. ``key`` keeps the widgets of
    different pages apart.
    """
    source = st.session_state.get(_IMAGE_SOURCE_STATE, _IMAGE_SOURCES[0])
    source = st.radio(
        "Image source",
        _IMAGE_SOURCES,
        index=_IMAGE_SOURCES.index(source),
        horizontal=True,
        key=f"{key}_image_source",
    )
    st.session_state[_IMAGE_SOURCE_STATE] = source
    current = current_image()
    if source == "Sample images":
        samples: dict[str, tuple[str, str | None]] = {name: (str(p), None) for name, p in sample_images().items()}
        validation, missing = _validation_images()
        samples.update(validation)
        if not samples:
            st.warning("No sample images found; upload one instead.")
        else:
            names = list(samples)
            if current is not None and current.name in samples:
                index = names.index(current.name)
            else:
                index = names.index(DEFAULT_SAMPLE) if DEFAULT_SAMPLE in samples else 0
            name = st.columns([1, 2])[0].selectbox(
                "Sample image",
                names,
                index=index,
                key=f"{key}_sample",
                help="'val: ...' images come from the validation split of the model's own classes, named by their "
                "true class: the model never saw them in training.",
            )
            if current is None or current.name != name or current.source != "sample":
                path, true_class = samples[name]
                accept_image(_read_sample(path), name, "sample", true_class)
        if missing:
            st.caption(f"Validation images of the model's classes are offered with the data folder. {missing}")
    elif source == "Upload":
        _upload_picker(key)
    else:
        shot = st.camera_input("Take a picture", key=f"{key}_camera")
        if shot is not None:
            accept_image(shot.getvalue(), "camera picture", "camera")
    chosen = current_image()
    if chosen is None:
        return None
    if source != "Sample images" and chosen.source == "sample":
        st.caption(f"Still showing the sample image {chosen.name!r} until you pick another.")
    return chosen.image, chosen.hash


def require_image(key: str, hint: str) -> ChosenImage:
    """``image_picker`` for a page that needs an image: the session's image, or ``hint`` and the page stops here."""
    if image_picker(key) is None:
        st.info(hint)
        st.stop()
    chosen = current_image()
    assert chosen is not None  # image_picker returned it
    return chosen


def _validation_images() -> tuple[dict[str, tuple[str, str | None]], str | None]:
    """Validation images of the model's own classes ({label: (file, true class)}), or why there are none.

    The reason is given only when the model could use them (it names classes) and the data folder is missing.
    """
    loaded = current_model()
    if not loaded.has_classifier or not loaded.class_names:
        return {}, None
    dataset = dataset_folder()
    found = cached_validation_samples(str(dataset), tuple(loaded.class_names))
    return dict(found), (None if found else missing_data(dataset))


def _upload_picker(key: str) -> None:
    """The "Upload" source: any file is taken and the ones that are not usable images refused in words.

    No ``type=`` filter: Streamlit's browser side would refuse other extensions with only an icon, and
    keep every refused entry in the widget. A refused file is removed instead (the widget gets a new
    key, so it comes back empty) and its sentence stays under it until the next upload.
    """
    generation = st.session_state.get(f"{key}_upload_generation", 0)
    widget_key = f"{key}_upload" if generation == 0 else f"{key}_upload_{generation}"
    upload = st.file_uploader(
        f"Upload an image ({ACCEPTED_NAMES})",
        key=widget_key,
        help=f"Expected: {', '.join('.' + t for t in UPLOAD_TYPES)}. Animated images give their first frame.",
    )
    refusal_key = f"{key}_upload_refusal"
    if upload is None:
        if st.session_state.get(refusal_key):
            st.error(st.session_state[refusal_key])
        return
    st.session_state.pop(refusal_key, None)
    refusal = accept_image(upload.getvalue(), upload.name, "upload")
    if refusal is not None:
        st.session_state[refusal_key] = refusal
        st.session_state[f"{key}_upload_generation"] = generation + 1
        st.rerun()


def show_png(png: bytes, caption: str | None = None, width: int | str = "content") -> None:
    """``st.image`` for ready-made PNG bytes.

    ``output_format="PNG"`` matters: with the default "auto", Streamlit decodes opaque PNG bytes and
    re-encodes them as JPEG on every rerun (tens of milliseconds, and JPEG smears kernel pixels).
    """
    st.image(png, caption=caption, width=width, output_format="PNG")


def clickable_png(png: bytes, key: str, on_pixel: Callable[[float, float], None], caption: str | None = None) -> None:
    """PNG bytes shown at their own size (at most the column's width); a click calls ``on_pixel(x, y)`` first.

    (x, y) are in the PNG's own pixels, whatever size the browser drew it at, and the call comes before the
    rerun (a callback), so it may set other widgets' state. streamlit-image-coordinates reports the click.
    """
    picture = Image.open(io.BytesIO(png))
    natural_width, natural_height = picture.size

    def clicked() -> None:
        click = st.session_state.get(key)
        if click and click.get("width") and click.get("height"):
            on_pixel(click["x"] * natural_width / click["width"], click["y"] * natural_height / click["height"])

    # Level 1: the component re-encodes the picture; fast beats small on localhost.
    streamlit_image_coordinates(picture, width="content", key=key, on_click=clicked, png_compression_level=1,
                                cursor="pointer")
    if caption:
        st.caption(caption)


def show_thumbnail(image: Image.Image, image_hash: str, caption: str, width: int = 260) -> None:
    """The user's image at ``width`` pixels, encoded once per image."""
    st.image(cached_thumbnail(image_hash, width, image), caption=caption, width=width, output_format="JPEG")


def download_buttons(
    *,
    fig: Any = None,
    csv_rows: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    name: str,
    key: str | None = None,
) -> None:
    """PNG (of ``fig``: bytes, a uint8 numpy image, a matplotlib figure, or a callable returning one)
    and CSV (of ``csv_rows``: rows or columns) download buttons side by side.

    Clicking downloads without rerunning the page. A PNG that is not ready-made bytes, and the CSV, are
    written only when the button is clicked.
    """
    key = key or name
    with st.container(horizontal=True, gap="small"):
        if fig is not None:
            # Always deferred: the bytes are produced (or, if ready-made, handed over) only on click,
            # so a rerun neither renders a figure nor hashes a large PNG into the media store.
            data: Callable[[], bytes]
            if isinstance(fig, (bytes, bytearray)):
                ready = bytes(fig)
                data = lambda: ready  # noqa: E731
            elif callable(fig) and not hasattr(fig, "savefig"):
                data = lambda: png_bytes(fig())  # noqa: E731
            else:
                data = lambda: png_bytes(fig)  # noqa: E731
            st.download_button(
                "PNG",
                data=data,
                file_name=f"{name}.png",
                mime="image/png",
                key=f"download_png_{key}",
                on_click="ignore",
                icon=":material/download:",
            )
        if csv_rows is not None:
            # Deferred like the PNG: writing the CSV on every rerun cost a few ms for nothing.
            st.download_button(
                "CSV",
                data=lambda: csv_bytes(csv_rows),
                file_name=f"{name}.csv",
                mime="text/csv",
                key=f"download_csv_{key}",
                on_click="ignore",
                icon=":material/download:",
            )


def unit_examples_index(loaded: LoadedModel, key: str) -> UnitExamples | None:
    """The dataset-examples index of the model, if built; else one line on what is missing, or a button to build it."""
    dataset = str(dataset_folder())
    classifier, why = cached_dataset_classifier(loaded.key, dataset, ("train", "val"), loaded)
    if classifier is None:
        st.caption(f"Dataset examples need the training images: {why}")
        return None
    index = unit_examples_ready(loaded.key, dataset)
    if index is not None:
        return index
    wanted = f"{key}_index_wanted"
    if not st.session_state.pop(wanted, False):
        st.caption(INDEX_COST)
        # A callback, not the button's return value: it survives a rerun before this line (ensure_app_shell).
        st.button("Find dataset examples", key=f"{key}_build_index", icon=":material/travel_explore:",
                  on_click=st.session_state.__setitem__, args=(wanted, True))
        return None
    try:
        return build_unit_examples_now(loaded.key, dataset, classifier)
    except DataError as exc:
        st.error(f"Dataset examples could not be built: {exc}")
        return None


def channel_examples(index: UnitExamples, layer: str, channel: int, *, target: int = 240) -> None:
    """A channel's top-9 patches on a 3x3 grid, with their classes and peaks in the caption."""
    png = cached_patches_png(index.key, layer, channel, target, index)
    names = folder_classes(Path(index.paths[0]).parent.parent.parent).names if index.paths else None
    show_png(png, caption=top_examples_caption(index, layer, channel, names))


def feature_vis_panel(loaded: LoadedModel, layer: str, channel: int, key: str) -> None:
    """The channel's feature visualisation, computed when asked for (a button), then kept per model/layer/channel."""
    requested = st.session_state.setdefault("feature_vis_requested", set())
    wanted = (loaded.key, layer, channel)
    if wanted not in requested:
        st.button(
            "Visualise this channel", key=f"{key}_feature_vis", icon=":material/auto_awesome:",
            help="Activation maximisation: an image optimised, step by step, to excite the channel (a few seconds).",
            on_click=requested.add, args=(wanted,),  # a callback: it survives a rerun (see unit_examples_index)
        )
        st.caption(f"An image that {layer} channel {channel} responds to strongly, found by gradient ascent.")
        return
    png = cached_feature_vis(loaded.key, layer, channel, loaded)
    show_png(png, caption=f"{layer} channel {channel}: feature visualisation (optimised 128x128 image, shown 2x)")
