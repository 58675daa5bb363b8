"""Cached computations the pages share: activations, layer views, PNGs, thumbnails.

Keys are the model's key and the image's SHA-256; the objects themselves (``_loaded``, ``_image``) are
not hashed, so identical requests from any session reuse the result. Defined here, not in the page
scripts: a page's module-level code runs on every rerun, and a cache decorator applied afresh computes
its function key (source hashing) on first use, every rerun.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st
from PIL import Image

from explorer.activations import feature_stages, top_k
from explorer.channel_views import enlarge, map_over_photo, mean_rgb, top_channels
from explorer.display import channel_picture, draw_layer, forward_pass, thumbnail_jpeg
from explorer.feature_vis import visualise_channel
from explorer.figures import png_bytes
from explorer.images import to_network_input
from explorer.kernels import conv_weights, kernel_image, kernel_slices
from explorer.models import LoadedModel
from explorer.receptive_field import ReceptiveField, receptive_fields
from explorer.units import classifier_outputs, unit_picture, unit_stats
from explorer.why_views import attribution_map, attribution_png

__all__ = [
    "cached_activations",
    "cached_attribution",
    "cached_attribution_png",
    "cached_network_input",
    "cached_occlusion",
    "cached_channel_map",
    "cached_feature_vis",
    "cached_fields",
    "cached_map_over_photo",
    "cached_top_channels",
    "cached_channel_png",
    "cached_input_png",
    "cached_kernel_png",
    "cached_layer_view",
    "cached_thumbnail",
    "cached_top_k",
    "cached_unit_view",
    "cached_units",
    "precompute_layer_views",
]


FEATURE_VIS_STEPS = 256  # explorer.feature_vis's default: a few seconds per conv channel on a CPU

@st.cache_data(max_entries=16, show_spinner="Running the network on the image ...")
def cached_activations(model_key: str, image_hash: str, _loaded: LoadedModel, _image: Image.Image) -> dict[str, Any]:
    """One forward pass: ``explorer.display.forward_pass`` ({"input", "maps", "logits"})."""
    return forward_pass(_loaded.model, _image, _loaded.data_stats)


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
    _act: Any = None,  # the layer's (C, H, W) array, when the caller already has it
) -> dict[str, Any]:
    if _act is None:
        _act = cached_activations(model_key, image_hash, _loaded, _image)["maps"][layer]
    return draw_layer(_act, normalise)  # type: ignore[arg-type]


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
    return png_bytes(channel_picture(act, channel))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_input_png(model_key: str, image_hash: str, _loaded: LoadedModel, _image: Image.Image) -> bytes:
    """The 227x227 crop the network sees, as PNG."""
    return png_bytes(cached_activations(model_key, image_hash, _loaded, _image)["input"])


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


@st.cache_data(max_entries=64, show_spinner=False)
def cached_thumbnail(image_hash: str, width: int, _image: Image.Image) -> bytes:
    """JPEG of the image at exactly ``width`` pixels wide, made once per image (not on every rerun)."""
    return thumbnail_jpeg(_image, width)


# --------------------------------------------------------------------------------------------------
# Fully connected layers of one image
# --------------------------------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def cached_units(model_key: str, image_hash: str, _loaded: LoadedModel, _image: Image.Image) -> dict[str, Any]:
    """fc6/fc7 after their ReLU and fc8 for the image ({"relu6", "relu7", "fc8"}: 1-D arrays), from its pool5."""
    maps = cached_activations(model_key, image_hash, _loaded, _image)["maps"]
    last = feature_stages(_loaded.model)[-1].name
    return {name: values[0].numpy() for name, values in classifier_outputs(_loaded.model, maps[last]).items()}


@st.cache_data(max_entries=128, show_spinner=False)
def cached_unit_view(
    model_key: str, image_hash: str, layer: str, _loaded: LoadedModel, _image: Image.Image
) -> dict[str, Any]:
    """What a page shows for fc6 or fc7: {"png": the units as a grid, "stats": ``unit_stats``}."""
    values = cached_units(model_key, image_hash, _loaded, _image)[layer]
    return {"png": png_bytes(unit_picture(values)), "stats": unit_stats(values)}


# --------------------------------------------------------------------------------------------------
# The data folder: validation images, the validation view, Figure 4
# --------------------------------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def cached_top_channels(
    model_key: str, image_hash: str, layer: str, k: int, _loaded: LoadedModel, _image: Image.Image
) -> list[int]:
    """The ``k`` channels of ``layer`` with the strongest peak for the image, strongest first."""
    return top_channels(cached_activations(model_key, image_hash, _loaded, _image)["maps"][layer], k)


@st.cache_data(max_entries=1024, show_spinner=False)
def cached_channel_map(
    model_key: str, image_hash: str, layer: str, channel: int, _loaded: LoadedModel, _image: Image.Image
) -> Any:
    """One (H, W) numpy map of ``layer``."""
    return cached_activations(model_key, image_hash, _loaded, _image)["maps"][layer][channel]


@st.cache_resource(max_entries=8, show_spinner=False)
def cached_fields(model_key: str, _loaded: LoadedModel) -> dict[str, ReceptiveField]:
    """Every feature layer's receptive field at the network's input size."""
    return receptive_fields(_loaded.model)


@st.cache_data(max_entries=256, show_spinner=False)
def cached_map_over_photo(
    model_key: str,
    image_hash: str,
    layer: str,
    channel: int,
    position: tuple[int, int] | None,
    opacity: float,
    _loaded: LoadedModel,
    _image: Image.Image,
) -> bytes:
    """PNG: the channel's map over the 227x227 crop (clipped contrast, colour bar), ``position``'s field outlined."""
    photo = cached_activations(model_key, image_hash, _loaded, _image)["input"]
    field = cached_fields(model_key, _loaded).get(layer)
    box = field.box(*position) if field is not None and position is not None else None
    act = cached_channel_map(model_key, image_hash, layer, channel, _loaded, _image)
    return png_bytes(map_over_photo(photo, act, field, opacity=opacity, box=box))


@st.cache_resource(max_entries=256, show_spinner=False)
def cached_feature_vis(model_key: str, layer: str, channel: int, _loaded: LoadedModel) -> bytes:
    """PNG of ``explorer.feature_vis.visualise_channel`` (a progress bar while it runs; then kept)."""
    bar = st.progress(0.0, text=f"Optimising an image for {layer} channel {channel} ...")

    def report(done: int, total: int) -> None:
        text = f"Optimising an image for {layer} channel {channel}: step {done} of {total}"
        bar.progress(done / max(1, total), text=text)

    try:
        picture = visualise_channel(
            _loaded.model, layer, channel, mean_rgb=mean_rgb(_loaded.data_stats), steps=FEATURE_VIS_STEPS,
            progress=report,
        )
    finally:
        bar.empty()
    return png_bytes(enlarge(picture, 2))


@st.cache_data(max_entries=16, show_spinner=False)
def cached_network_input(model_key: str, image_hash: str, _loaded: LoadedModel, _image: Image.Image) -> Any:
    """The float (1, 3, 227, 227) input tensor of ``explorer.images.to_network_input``."""
    return to_network_input(_image, _loaded.data_stats)[1]


@st.cache_data(max_entries=64, show_spinner="Computing the map ...")
def cached_attribution(
    model_key: str, image_hash: str, method: str, target: int, _loaded: LoadedModel, _image: Image.Image
) -> Any:
    """Grad-CAM or saliency of class ``target`` (a float32 (227, 227) array); one backward pass."""
    x = cached_network_input(model_key, image_hash, _loaded, _image)
    return attribution_map(_loaded.model, x, method, target)


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_occlusion(
    model_key: str, image_hash: str, target: int, stride: int, _loaded: LoadedModel, _image: Image.Image
) -> dict[str, Any]:
    """Occlusion of class ``target``: {"heat": (227, 227) array, "seconds": its time}, with a progress bar."""
    x = cached_network_input(model_key, image_hash, _loaded, _image)
    bar = st.progress(0.0, text="Occlusion: starting ...")

    def report(done: int, total: int) -> None:
        bar.progress(done / max(1, total), text=f"Occlusion: {done} of {total} occluded copies through the model")

    started = time.perf_counter()
    try:
        heat = attribution_map(_loaded.model, x, "occlusion", target, stride=stride, progress=report)
    finally:
        bar.empty()
    return {"heat": heat, "seconds": time.perf_counter() - started}


@st.cache_data(max_entries=256, show_spinner=False)
def cached_attribution_png(
    model_key: str, image_hash: str, method: str, target: int, stride: int, opacity: float, title: str,
    _view: Any, _heat: Any,
) -> bytes:
    """PNG of ``_heat`` (identified by the other arguments) over the crop ``_view``, with its colour bar."""
    return attribution_png(_view, _heat, method, opacity=opacity, title=title)
