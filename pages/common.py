"""Streamlit-side helpers shared by every page: model choice, image choice, caching, downloads.

No tensor math here: everything computed comes from ``explorer``. What is shared and what is not:

* Models are loaded once per choice with ``st.cache_resource`` and shared by every session of the
  running app. They are read-only: ``explorer`` never changes a model (hooks are removed in
  ``finally``, the model stays in eval mode).
* Everything per user (chosen model, image, layer, channel, uploads) lives in ``st.session_state``.
* Heavy results (activations, grids, statistics) are cached with ``st.cache_data`` keyed by the
  model's key and the image's SHA-256, so identical requests from any session reuse them.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
import torch
from PIL import Image

from alexnet.errors import CheckpointError, WeightsUnavailableError
from alexnet.paths import runs_root
from explorer.activations import (
    LOGITS,
    capture_activations,
    channel_stats,
    feature_grid_indexed,
    feature_stages,
    top_k,
)
from explorer.figures import csv_bytes, png_bytes
from explorer.images import (
    UPLOAD_TYPES,
    ImageError,
    image_hash,
    load_image,
    sample_images,
    shrink_for_display,
    to_network_input,
)
from explorer.kernels import conv_weights, kernel_image, kernel_slices
from explorer.models import LoadedModel, ModelOption, available_models, load_model, load_uploaded_checkpoint

__all__ = [
    "CHECKPOINT_UPLOAD_TYPES",
    "ChosenImage",
    "cached_activations",
    "cached_channel_png",
    "cached_input_png",
    "cached_kernel_png",
    "cached_layer_view",
    "cached_top_k",
    "current_image",
    "current_model",
    "download_buttons",
    "ensure_app_shell",
    "image_picker",
    "precompute_layer_views",
    "model_sidebar",
    "show_notice",
    "show_png",
    "show_thumbnail",
]

CHECKPOINT_UPLOAD_TYPES = ("pt", "pth", "ckpt")
_UPLOAD_CHOICE = "__upload__"
_MODEL_STATE = "explorer_loaded_model"
_IMAGE_STATE = "explorer_image"
_IMAGE_SOURCE_STATE = "explorer_image_source"
_IMAGE_SOURCES = ("Sample images", "Upload", "Camera")
DEFAULT_SAMPLE = "cat"  # explorer/samples/cat.jpg: a tabby cat, an ImageNet class


def _limit_torch_threads() -> None:
    """Run the dashboard's torch work on $ALEXNET_DASHBOARD_THREADS threads (default 1; 0 leaves torch's own).

    Everything the dashboard computes is one image at a time: small ops, where a multi-threaded pool
    mostly waits at barriers, and the more so when other sessions or processes want the cores. Measured
    on the project's shared 2-vCPU machine (BENCHMARKS.md, row 4, same script, both counts): upload
    -> all grids ready 203-219 ms with 1 thread against 354-542 ms with 2. Process-wide, so set once,
    here, where every page imports from.
    """
    threads = int(os.environ.get("ALEXNET_DASHBOARD_THREADS", "1"))
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


_limit_torch_threads()


# --------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------


@st.cache_data(ttl=20, show_spinner=False)
def _model_options(runs_dir: str) -> list[ModelOption]:
    # A short ttl: new runs appear within seconds, without listing folders on every rerun.
    return available_models(runs_dir)


@st.cache_resource(max_entries=4, show_spinner="Loading model ...")
def _load_option(option: ModelOption) -> LoadedModel:
    return load_model(option)


@st.cache_resource(max_entries=2, show_spinner="Reading uploaded checkpoint ...")
def _load_upload(digest: str, name: str, _data: bytes) -> LoadedModel:
    # Keyed by the file's hash (the bytes themselves are not hashed again by Streamlit).
    return load_uploaded_checkpoint(_data, name=name)


def model_sidebar() -> LoadedModel:
    """The sidebar's model picker (called once per run by streamlit_app.py); returns the loaded model."""
    options = _model_options(str(runs_root().resolve()))
    by_key = {o.key: o for o in options}
    keys = [*by_key, _UPLOAD_CHOICE]
    if st.session_state.get("model_choice") not in keys:  # a run folder vanished since last time
        st.session_state.pop("model_choice", None)
    choice = st.sidebar.selectbox(
        "Model",
        keys,
        format_func=lambda k: "Upload a checkpoint ..." if k == _UPLOAD_CHOICE else by_key[k].label,
        key="model_choice",
        help="Checkpoints are read with torch.load(weights_only=True): files that would run code are refused.",
    )
    loaded: LoadedModel | None = None
    if choice == _UPLOAD_CHOICE:
        upload = st.sidebar.file_uploader(
            "Checkpoint file (.pt)", type=list(CHECKPOINT_UPLOAD_TYPES), key="checkpoint_upload"
        )
        if upload is None:
            st.sidebar.info("No checkpoint uploaded yet: showing the default model.")
        else:
            data = upload.getvalue()
            try:
                loaded = _load_upload(image_hash(data), upload.name, data)
            except CheckpointError as exc:
                st.sidebar.error(f"Checkpoint refused: {exc}")
    else:
        try:
            loaded = _load_option(by_key[choice])
        except (CheckpointError, WeightsUnavailableError) as exc:
            st.sidebar.error(f"Could not load {by_key[choice].label}: {exc}")
    if loaded is None:
        loaded = _load_option(options[0])
    st.session_state[_MODEL_STATE] = loaded
    st.sidebar.caption(_model_caption(loaded))
    return loaded


def _model_caption(loaded: LoadedModel) -> str:
    trained = "trained" if loaded.is_trained else "untrained"
    towers = "two towers" if loaded.towers == 2 else "one tower"
    classes = f"{len(loaded.class_names)} classes" if loaded.class_names else "no class names"
    return f"{loaded.label}: {trained}, {towers}, {classes}."


def ensure_app_shell() -> None:
    """Make sure the page runs inside streamlit_app.py's navigation, not Streamlit's legacy pages/ mode.

    Streamlit treats a folder called ``pages/`` beside the entry script as a version-1 multipage app:
    until the entry script has called ``st.navigation`` once in the server process, a visitor who opens
    a deep link (``/activations``) gets that page run on its own, without the sidebar, the wide layout
    and the page list of streamlit_app.py. Streamlit keeps that mode in a class attribute
    (``PagesManager.uses_pages_directory``, which ``st.navigation`` itself sets to False); switching it
    off and rerunning sends the same URL through streamlit_app.py. Harmless when the attribute is
    absent (other Streamlit versions). Every page calls this first (``current_model`` does).
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_model() -> LoadedModel:
    """The model this session chose in the sidebar (renders the picker if the page runs alone)."""
    ensure_app_shell()
    loaded = st.session_state.get(_MODEL_STATE)
    if loaded is None:
        loaded = model_sidebar()
    return loaded


def show_notice(loaded: LoadedModel) -> None:
    """The plain notice every page shows about the model (untrained, not the paper's network ...)."""
    if loaded.notice:
        st.info(loaded.notice, icon=":material/info:")


# --------------------------------------------------------------------------------------------------
# Image
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChosenImage:
    """The session's image: decoded (upright RGB, shorter side at most 1024), its hash and a name."""

    image: Image.Image
    hash: str
    name: str
    source: str


@st.cache_data(max_entries=64, show_spinner=False)
def _read_sample(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _accept(data: bytes, name: str, source: str) -> None:
    """Decode and store ``data`` as the session's image, or show why it was refused."""
    digest = image_hash(data)
    current: ChosenImage | None = st.session_state.get(_IMAGE_STATE)
    if current is not None and current.hash == digest:
        return
    refused = st.session_state.get("explorer_image_refused")
    if refused is not None and refused[0] == digest:
        st.error(refused[1])
        return
    try:
        image = shrink_for_display(load_image(data))
    except ImageError as exc:
        message = f"{name} was not used: {exc}."
        st.session_state["explorer_image_refused"] = (digest, message)
        st.error(message)
        return
    st.session_state[_IMAGE_STATE] = ChosenImage(image, digest, name, source)


def current_image() -> ChosenImage | None:
    """The image this session chose on any page (None before the first choice)."""
    return st.session_state.get(_IMAGE_STATE)


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
    current: ChosenImage | None = st.session_state.get(_IMAGE_STATE)
    if source == "Sample images":
        samples = sample_images()
        if not samples:
            st.warning("No sample images found; upload one instead.")
        else:
            names = list(samples)
            if current is not None and current.name in samples:
                index = names.index(current.name)
            else:
                index = names.index(DEFAULT_SAMPLE) if DEFAULT_SAMPLE in samples else 0
            name = st.columns([1, 2])[0].selectbox("Sample image", names, index=index, key=f"{key}_sample")
            if current is None or current.name != name or current.source != "sample":
                _accept(_read_sample(str(samples[name])), name, "sample")
    elif source == "Upload":
        upload = st.file_uploader(
            "Upload an image (JPEG, PNG, WebP or BMP)", type=list(UPLOAD_TYPES), key=f"{key}_upload"
        )
        if upload is not None:
            _accept(upload.getvalue(), upload.name, "upload")
    else:
        shot = st.camera_input("Take a picture", key=f"{key}_camera")
        if shot is not None:
            _accept(shot.getvalue(), "camera picture", "camera")
    chosen = current_image()
    if chosen is None:
        return None
    if source != "Sample images" and chosen.source == "sample":
        st.caption(f"Still showing the sample image {chosen.name!r} until you pick another.")
    return chosen.image, chosen.hash


# --------------------------------------------------------------------------------------------------
# Cached computations (keys: model key + image hash; the objects themselves are not hashed)
# --------------------------------------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner="Running the network on the image ...")
def cached_activations(model_key: str, image_hash: str, _loaded: LoadedModel, _image: Image.Image) -> dict[str, Any]:
    """One forward pass: {"view": uint8 (3,227,227), "maps": {layer: float32 (C,H,W)}, "logits": (classes,)}."""
    view, x = to_network_input(_image, _loaded.data_stats)
    captured = capture_activations(_loaded.model, x)
    logits = captured.pop(LOGITS)[0].numpy()
    return {"view": view, "maps": {name: t[0].numpy() for name, t in captured.items()}, "logits": logits}


def _draw_layer(act: np.ndarray, normalise: str) -> dict[str, Any]:
    channels, _height, width = act.shape
    # About 640 pixels wide whatever the layer: small maps (6x6) are enlarged by pixel repetition.
    scale = max(1, 640 // (int(np.ceil(np.sqrt(channels))) * (width + 1)))
    # Palette indices, not RGB: the colormap is applied to 255 colours instead of to every pixel, and
    # the PNG is an 8-bit palette one (lossless, a third of the data to compress). BENCHMARKS.md, row 4.
    grid = feature_grid_indexed(act, normalise=normalise, scale=scale)  # type: ignore[arg-type]
    return {"grid": grid, "shape": act.shape, "stats": channel_stats(act)}


# Resources, not data: grids, PNG bytes and small statistics arrays that pages only read, and
# st.cache_data would copy (unpickle) them on every rerun of every session. 240 entries = 16
# image/model/contrast combinations of 15 layers; a grid is at most ~0.3 MB (one byte per pixel).
@st.cache_resource(max_entries=240, ttl=3600, show_spinner=False)
def _layer_grid(
    model_key: str,
    image_hash: str,
    layer: str,
    normalise: str,
    _loaded: LoadedModel,
    _image: Image.Image,
    _act: np.ndarray | None = None,
) -> dict[str, Any]:
    if _act is None:
        _act = cached_activations(model_key, image_hash, _loaded, _image)["maps"][layer]
    return _draw_layer(_act, normalise)


@st.cache_resource(max_entries=240, ttl=3600, show_spinner=False)
def _layer_view(
    model_key: str, image_hash: str, layer: str, normalise: str, _loaded: LoadedModel, _image: Image.Image
) -> dict[str, Any]:
    drawn = _layer_grid(model_key, image_hash, layer, normalise, _loaded, _image)
    return {"png": png_bytes(drawn["grid"]), "shape": drawn["shape"], "stats": drawn["stats"]}


def cached_layer_view(
    model_key: str, image_hash: str, layer: str, normalise: str, _loaded: LoadedModel, _image: Image.Image
) -> dict[str, Any]:
    """What a page shows for one layer: {"png": grid PNG, "shape": (C, H, W), "stats": channel_stats}.

    The grid itself is drawn once per (model, image, layer, contrast) and shared read-only (see
    ``precompute_layer_views``); its PNG is written the first time a page shows it (~3 ms).
    """
    return _layer_view(model_key, image_hash, layer, normalise, _loaded, _image)


@st.cache_resource(max_entries=16, ttl=3600, show_spinner="Drawing the feature maps of every layer ...")
def precompute_layer_views(
    model_key: str, image_hash: str, normalise: str, _loaded: LoadedModel, _image: Image.Image
) -> bool:
    """Draw every layer's grid and statistics in one go, so later layer switches only write one PNG.

    Reads the activations once instead of once per layer. PNG encoding waits until a layer is shown:
    writing all 15 PNGs up front was most of the upload's time (BENCHMARKS.md, row 4). Returns True
    (the marker that it ran).
    """
    maps = cached_activations(model_key, image_hash, _loaded, _image)["maps"]
    for layer, act in maps.items():
        _layer_grid(model_key, image_hash, layer, normalise, _loaded, _image, _act=act)
    return True


@st.cache_data(max_entries=1024, show_spinner=False)
def cached_channel_png(
    model_key: str, image_hash: str, layer: str, channel: int, _loaded: LoadedModel, _image: Image.Image
) -> bytes:
    """One feature map enlarged to about 280 pixels (its own contrast)."""
    act = cached_activations(model_key, image_hash, _loaded, _image)["maps"][layer]
    scale = max(1, 280 // act.shape[-1])
    return png_bytes(feature_grid_indexed(act[channel : channel + 1], normalise="per-channel", scale=scale, pad=0))


# Defined here, not in the page script: a page's module-level code runs on every rerun, and a cache
# decorator applied afresh computes its function key (source hashing) on first use, every rerun.
@st.cache_data(max_entries=64, show_spinner=False)
def cached_input_png(model_key: str, image_hash: str, _loaded: LoadedModel, _image: Image.Image) -> bytes:
    """The 227x227 crop the network sees, as PNG."""
    view = cached_activations(model_key, image_hash, _loaded, _image)["view"]
    return png_bytes(view.transpose(1, 2, 0))


@st.cache_data(max_entries=512, show_spinner=False)
def cached_kernel_png(model_key: str, conv: str, channel: int, _loaded: LoadedModel) -> bytes:
    """The kernel that produces ``channel`` of ``conv``: conv1 in colour, deeper ones as input slices."""
    weight = conv_weights(_loaded.model, conv)
    if conv == "conv1":
        return png_bytes(kernel_image(weight, channel, scale=16))
    return png_bytes(kernel_slices(weight, channel, "shared", scale=8))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_top_k(model_key: str, image_hash: str, k: int, _loaded: LoadedModel, _image: Image.Image) -> list[dict]:
    logits = cached_activations(model_key, image_hash, _loaded, _image)["logits"]
    return top_k(logits, k, _loaded.class_names)


def stage_labels(loaded: LoadedModel) -> dict[str, str]:
    """{canonical layer name: label} of the model's feature layers, in order."""
    return {s.name: s.label for s in feature_stages(loaded.model)}


# --------------------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------------------


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


def show_png(png: bytes, caption: str | None = None, width: int | str = "content") -> None:
    """``st.image`` for ready-made PNG bytes.

    ``output_format="PNG"`` matters: with the default "auto", Streamlit decodes opaque PNG bytes and
    re-encodes them as JPEG on every rerun (tens of milliseconds, and JPEG smears kernel pixels).
    """
    st.image(png, caption=caption, width=width, output_format="PNG")


@st.cache_data(max_entries=64, show_spinner=False)
def cached_thumbnail(image_hash: str, width: int, _image: Image.Image) -> bytes:
    """JPEG of the image at exactly ``width`` pixels wide, made once per image (not on every rerun)."""
    height = max(1, round(_image.height * width / _image.width))
    buffer = io.BytesIO()
    _image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=3.0).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def show_thumbnail(image: Image.Image, image_hash: str, caption: str, width: int = 260) -> None:
    """The user's image at ``width`` pixels, encoded once per image."""
    st.image(cached_thumbnail(image_hash, width, image), caption=caption, width=width, output_format="JPEG")
