"""Activations: what every layer computes for one image (feature maps, fc6-fc8, statistics, predictions)."""

from __future__ import annotations

import streamlit as st

from explorer.activations import feature_stages
from explorer.channel_views import CLIP_PERCENTILE, strongest_position
from explorer.display import grid_channel_at
from explorer.figures import BarChart, bar_chart
from explorer.kernels import conv_shape
from explorer.predictions import TRAINED_ON, class_score_bars, known_classes_line, top5_bars
from explorer.units import classifier_stages
from pages.caching import (
    cached_channel_map,
    cached_fields,
    cached_input_png,
    cached_kernel_png,
    cached_layer_view,
    cached_map_over_photo,
    cached_top_channels,
    cached_top_k,
    cached_unit_view,
    cached_units,
    precompute_layer_views,
)
from pages.state import current_model
from pages.widgets import (
    channel_examples,
    clickable_png,
    download_buttons,
    feature_vis_panel,
    require_image,
    show_notice,
    show_png,
    show_thumbnail,
    unit_examples_index,
)

NORMALISE_HELP = (
    "Per channel: every map stretched to its own range (shows each map's pattern). Clipped: the same, up to each "
    "map's 99.5th percentile, so maps with a few strong spots are not black elsewhere. Shared: one range for the "
    "whole layer (shows which maps respond strongly; weak ones go dark)."
)
TOP_CHANNELS = 12


loaded = current_model()
st.title("Activations")
show_notice(loaded)

chosen = require_image("activations", "Choose an image above to see what each layer of the network computes.")
image, digest, true_class = chosen.image, chosen.hash, chosen.true_class

left, middle, right = st.columns([1, 1, 1.4])
with left:
    show_thumbnail(image, digest, f"{chosen.name} ({image.width}x{image.height})")
with middle:
    input_png = cached_input_png(loaded.key, digest, loaded, image)
    show_png(input_png, "227x227: as the network sees it (shorter side 256, centre crop)", width=227)
    download_buttons(fig=input_png, name="network_input", key="input")
with right:
    st.markdown("**Top-5 predictions**" + (f" (true class: {true_class}, in red)" if true_class else ""))
    if loaded.has_classifier:
        rows = cached_top_k(loaded.key, digest, 5, loaded, image)
        st.plotly_chart(top5_bars(rows, true_class), key="activations_top5", config={"displayModeBar": False})
        download_buttons(csv_rows=rows, name="top5", key="top5")
        known = known_classes_line(loaded.class_names, TRAINED_ON.get(loaded.kind))
        if known:
            st.caption(known)
    else:
        st.caption(loaded.classifier_note or "This model has no classifier for known classes.")

stages = {stage.name: stage for stage in feature_stages(loaded.model)}
units = {stage.name: stage for stage in classifier_stages(loaded.model)}
labels = {name: stage.label for name, stage in (stages | units).items()}
names = [*stages, *units]
default_layer = names.index("relu1") if "relu1" in names else 0
if st.session_state.get("activations_layer") not in (None, *names):  # a layer the new model lacks
    st.session_state.pop("activations_layer")
controls = st.columns([2, 2, 3])
layer = controls[0].selectbox(
    "Layer", names, index=default_layer, format_func=lambda n: labels[n], key="activations_layer"
)


def unit_layer_view(layer: str) -> None:
    """fc6/fc7: the 4,096 units as a 64x64 grid and the strongest ones; fc8: the class scores as bars."""
    stage = units[layer]
    if stage.is_scores:
        st.subheader(f"{layer}: {stage.units:,} class scores (before softmax)")
        scores = cached_units(loaded.key, digest, loaded, image)[layer]
        figure, (shown, total) = class_score_bars(scores, loaded.class_names)
        st.plotly_chart(figure, key="activations_fc8", config={"displayModeBar": False})
        which = "every class" if shown == total else f"the {shown} highest of {total} classes"
        st.caption(f"fc8's output for {which}; the softmax of these scores gives the probabilities above.")
        if not loaded.has_classifier:
            st.caption(loaded.classifier_note or "")
        return
    st.subheader(f"{stage.label}: {stage.units:,} units")
    view = cached_unit_view(loaded.key, digest, layer, loaded, image)
    stats = view["stats"]
    picture, numbers = st.columns([2, 1])
    with picture:
        show_png(
            view["png"],
            caption=f"the {stats['units']:,} units of {stage.label}, row by row from the top left (unit 0); "
            "one colour scale: dark = 0, yellow = the strongest",
        )
        download_buttons(fig=view["png"], name=f"{layer}_units", key="units")
    with numbers:
        st.metric("Active units (above 0)", f"{1 - stats['zero_fraction']:.1%}")
        st.metric("Mean", f"{stats['mean']:.4g}")
        st.metric("Max", f"{stats['max']:.4g}")
    top = [f"unit {i}" for i in stats["top_units"]]
    chart_args = dict(title=f"{stage.label}: the {len(top)} strongest units", xlabel="unit", ylabel="activation")
    st.plotly_chart(bar_chart(top, {"activation": stats["top_values"]}, **chart_args), key="activations_units_chart")
    download_buttons(
        fig=lambda: BarChart(top, {"activation": stats["top_values"]}, **chart_args).png(),
        csv_rows={"unit": stats["top_units"], "activation": stats["top_values"]},
        name=f"{layer}_strongest_units",
        key="unit_stats",
    )
    examples_layer = "fc" + stage.name.removeprefix("relu").removeprefix("fc")  # relu7 -> fc7 (the index's name)
    st.subheader(f"One {examples_layer} unit: the dataset images that drive it hardest")
    strongest = [int(u) for u in stats["top_units"]]
    unit = st.pills(
        "The image's strongest units (strongest first)", strongest, default=strongest[0],
        format_func=lambda u: f"unit {u}", key=f"activations_unit_{layer}",
    )
    index = unit_examples_index(loaded, "activations")
    if index is not None and examples_layer in index.layers:
        channel_examples(index, examples_layer, strongest[0] if unit is None else int(unit), target=360)


if layer in units:
    for kept in ("activations_normalise", "activations_channel", "activations_stat", "activations_opacity",
                 "activations_show_stats"):
        if kept in st.session_state:  # widgets not drawn this run would forget their value
            st.session_state[kept] = st.session_state[kept]
    unit_layer_view(layer)
    st.stop()

normalise = controls[1].radio(
    "Contrast", ("per-channel", "clipped", "shared"), horizontal=True, key="activations_normalise",
    help=NORMALISE_HELP,
)
precompute_layer_views(loaded.key, digest, normalise, loaded, image)
view = cached_layer_view(loaded.key, digest, layer, normalise, loaded, image)
channels, height, width = view["shape"]
channel_key, pick_key, row_key, col_key = (f"activations_{k}" for k in ("channel", "top_pick", "row", "col"))


def _channel_clicked(x: float, y: float) -> None:
    clicked = grid_channel_at(view["shape"], x, y)
    if clicked is not None:
        st.session_state[channel_key] = clicked


st.subheader(f"{labels[layer]}: {channels} feature maps of {height}x{width}")
clickable_png(view["png"], "activations_grid_click", _channel_clicked,
              caption=f"all {channels} maps of {labels[layer]}, {normalise} contrast (dark = low, yellow = high), "
              "row by row from channel 0 at the top left. Click a map to look at that channel below.")
download_buttons(fig=view["png"], name=f"{layer}_{normalise}_maps", key="grid")

st.subheader("One channel: where it fires, what drives it, what produced it")
top = cached_top_channels(loaded.key, digest, layer, TOP_CHANNELS, loaded, image)
context = (loaded.key, digest, layer)
if st.session_state.get("activations_channel_for") != context:  # a new image or layer: its most active channel
    st.session_state["activations_channel_for"] = context
    st.session_state[channel_key] = top[0]
if st.session_state.get(channel_key, 0) >= channels:
    st.session_state[channel_key] = channels - 1


def _pick_channel() -> None:
    picked = st.session_state.get(pick_key)
    if picked is not None:
        st.session_state[channel_key] = picked


channel = int(st.session_state[channel_key])
st.session_state[pick_key] = channel if channel in top else None
st.pills(
    f"The image's {len(top)} most active channels in {layer} (strongest peak first)",
    top, format_func=lambda c: f"ch {c}", key=pick_key, on_change=_pick_channel,
)
chooser = st.columns([1, 1, 1, 1])
channel = int(
    chooser[0].number_input(f"Channel (0-{channels - 1})", min_value=0, max_value=channels - 1, step=1,
                            key=channel_key)
)
act = cached_channel_map(loaded.key, digest, layer, channel, loaded, image)
if st.session_state.get("activations_position_for") != (*context, channel):  # the channel's strongest place
    st.session_state["activations_position_for"] = (*context, channel)
    st.session_state[row_key], st.session_state[col_key] = strongest_position(act)
row = chooser[1].slider("Row in the map", 0, height - 1, key=row_key, help="Its receptive field is outlined in red.")
col = chooser[2].slider("Column in the map", 0, width - 1, key=col_key)
opacity = chooser[3].slider("Map opacity", 0.0, 1.0, 0.6, 0.05, key="activations_opacity",
                            help="0: the photo alone; 1: the map alone.")
stats = view["stats"]
conv = stages[layer].conv
field = cached_fields(loaded.key, loaded).get(layer)
over, examples, kernel = st.columns([1.15, 1, 1])


def _position_clicked(x: float, y: float) -> None:
    if field is not None and x < field.input_size and y < field.input_size:  # the photo, not its colour bar
        st.session_state[row_key], st.session_state[col_key] = field.unit_at(y, x)


with over:
    over_png = cached_map_over_photo(loaded.key, digest, layer, channel, (row, col), opacity, loaded, image)
    caption = f"{layer}, channel {channel} over the photo, coloured up to its {CLIP_PERCENTILE}th percentile"
    if field is None:
        show_png(over_png, caption=caption)
    else:
        clickable_png(over_png, "activations_photo_click", _position_clicked,
                      caption=f"{caption}; unit ({row}, {col})'s {field.size}x{field.size} receptive field in red. "
                      "Click the photo to outline the field of the unit there.")
    download_buttons(fig=over_png, name=f"{layer}_channel_{channel}", key="channel")
    numbers = st.columns(3)
    numbers[0].metric("Mean", f"{stats['mean'][channel]:.4g}")
    numbers[1].metric("Max", f"{stats['max'][channel]:.4g}")
    numbers[2].metric("Share of zeros", f"{stats['zero_fraction'][channel]:.1%}")
with examples:
    st.markdown(f"**What drives {conv} channel {channel} in the dataset**")
    index = unit_examples_index(loaded, "activations")
    if index is not None and conv in index.layers:
        channel_examples(index, conv, channel)
with kernel:
    out_channels, in_per_group, k, _, groups = conv_shape(loaded.model, conv)
    kernel_png = cached_kernel_png(loaded.key, conv, channel, loaded)
    if conv == "conv1":
        caption = f"conv1 kernel {channel} (11x11 RGB, grey = 0)"
    else:
        caption = f"{conv} kernel {channel}: its {in_per_group} input slices of {k}x{k} (blue < 0 < red)"
    show_png(kernel_png, caption=caption)
    if stages[layer].kind == "lrn":
        st.caption("LRN mixes each map with its 4 neighbours in channel order, so nearby kernels contribute too.")
    feature_vis_panel(loaded, conv, channel, "activations")

st.subheader("Per-channel statistics")
# Off by default: the interactive chart costs the browser about 0.1 s on every rerun (a channel or layer switch
# took 0.55 s with it, 0.43 s without: BENCHMARKS.md, row 11), and most visits do not need it.
if st.toggle("Show every channel's mean, maximum and share of zeros as a chart", key="activations_show_stats"):
    series = {"mean": stats["mean"], "max": stats["max"], "share of zeros": stats["zero_fraction"]}
    shown = st.radio("Statistic", list(series), horizontal=True, key="activations_stat")
    chart_args = dict(title=f"{layer}: {shown} per channel", xlabel="channel", ylabel=shown)
    st.plotly_chart(bar_chart(stats["channel"], {shown: series[shown]}, **chart_args), key="activations_stats_chart")
    download_buttons(
        fig=lambda: BarChart(stats["channel"], {shown: series[shown]}, **chart_args).png(),
        csv_rows={
            "channel": stats["channel"],
            "mean": stats["mean"],
            "max": stats["max"],
            "min": stats["min"],
            "zero_fraction": stats["zero_fraction"],
        },
        name=f"{layer}_channel_stats",
        key="stats",
    )
