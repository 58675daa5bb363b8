"""Units: a layer's channels by the dataset patches that drive them most; one large, with its feature visualisation."""

from __future__ import annotations

import streamlit as st

from explorer.channel_views import page_channels, page_count
from pages.dataset_caching import cached_patches_png
from pages.state import current_model
from pages.widgets import channel_examples, feature_vis_panel, show_notice, show_png, unit_examples_index

PER_PAGE = 16
COLUMNS = 4

loaded = current_model()
st.title("Units")
show_notice(loaded)
st.caption(
    "Each channel of a layer shown by the 9 training or validation images where it responds most (Zeiler & Fergus "
    "2014), cut to the channel's receptive field around that place (fc6 and fc7 units see the whole crop)."
)

index = unit_examples_index(loaded, "units")
if index is None:
    st.stop()

layers = list(index.layers)
if st.session_state.get("units_layer") not in layers:
    st.session_state.pop("units_layer", None)
controls = st.columns([2, 1, 1, 3])
layer = controls[0].selectbox("Layer", layers, index=layers.index("conv5") if "conv5" in layers else 0,
                              key="units_layer")
channels = index.layers[layer].channels
pages = page_count(channels, PER_PAGE)
if st.session_state.get("units_page", 1) > pages:  # the previous layer had more channels
    st.session_state["units_page"] = pages
if st.session_state.get("units_channel", 0) >= channels:
    st.session_state["units_channel"] = channels - 1


def _first_on_page() -> None:
    st.session_state["units_channel"] = (st.session_state["units_page"] - 1) * PER_PAGE


page = int(controls[1].number_input(f"Page (1-{pages})", 1, pages, step=1, key="units_page", on_change=_first_on_page))
channel = int(controls[2].number_input(f"Channel (0-{channels - 1})", 0, channels - 1, step=1, key="units_channel"))
field = index.layers[layer].field
where = f"{field.size}x{field.size} receptive fields" if field is not None else "whole 227x227 crops"


def _choose(c: int) -> None:
    st.session_state["units_channel"] = c


shown = page_channels(page - 1, channels, PER_PAGE)
st.subheader(f"{layer}: channels {shown.start}-{shown.stop - 1} of {channels}")
st.caption(f"Top 9 of {len(index.paths):,} images per channel, as {where}; click a channel's button to see it large.")
for first in range(shown.start, shown.stop, COLUMNS):
    for column, c in zip(st.columns(COLUMNS), range(first, min(first + COLUMNS, shown.stop)), strict=False):
        with column:
            show_png(cached_patches_png(index.key, layer, c, 160, index))
            st.button(f"channel {c}", key=f"units_pick_{c}", on_click=_choose, args=(c,),
                      type="primary" if c == channel else "secondary")

st.subheader(f"{layer}, channel {channel}")
large, vis = st.columns([1.3, 1])
with large:
    channel_examples(index, layer, channel, target=420)
with vis:
    if field is not None:
        feature_vis_panel(loaded, layer, channel, "units")
    else:
        st.caption("Feature visualisation is for conv layers; fc units are shown by their dataset examples only.")
