"""Kernels: what the convolution layers have learned (the paper's Figure 3 and deeper layers)."""

from __future__ import annotations

import streamlit as st

from explorer.activations import conv_layers
from explorer.figures import BarChart, bar_chart, png_bytes
from explorer.kernels import (
    channel_slices,
    conv_shape,
    conv_weights,
    kernel_grid,
    kernel_image,
    kernel_scores,
    kernel_slices,
    tower_summary,
)
from explorer.models import LoadedModel
from pages.state import current_model
from pages.widgets import download_buttons, show_notice, show_png

CONTRASTS = ("per-kernel", "shared")
CONTRAST_HELP = (
    "Per-kernel: each kernel stretched to its own largest weight (shows every pattern). "
    "Shared: one scale for the whole layer (shows which kernels are strong). Mid-grey / white is zero."
)


# Kernel pictures depend only on the model (its key) and the options, so every session shares them.
@st.cache_data(max_entries=64, show_spinner=False)
def _conv1_grid_png(model_key: str, contrast: str, towers: int, _loaded: LoadedModel) -> bytes:
    weight = conv_weights(_loaded.model, "conv1")
    return png_bytes(kernel_grid(weight, contrast, towers, scale=6))  # type: ignore[arg-type]


@st.cache_data(max_entries=64, show_spinner=False)
def _conv1_scores(model_key: str, towers: int, _loaded: LoadedModel) -> dict:
    return kernel_scores(conv_weights(_loaded.model, "conv1"), towers)


@st.cache_data(max_entries=512, show_spinner=False)
def _kernel_png(model_key: str, index: int, contrast: str, _loaded: LoadedModel) -> bytes:
    return png_bytes(kernel_image(conv_weights(_loaded.model, "conv1"), index, contrast))  # type: ignore[arg-type]


@st.cache_data(max_entries=512, show_spinner=False)
def _kernel_channels_png(model_key: str, layer: str, index: int, _loaded: LoadedModel) -> bytes:
    return png_bytes(
        kernel_slices(conv_weights(_loaded.model, layer), index, "shared", scale=16 if layer == "conv1" else 10)
    )


@st.cache_data(max_entries=512, show_spinner=False)
def _channel_slices_png(model_key: str, layer: str, in_channel: int, contrast: str, _loaded: LoadedModel) -> bytes:
    return png_bytes(channel_slices(conv_weights(_loaded.model, layer), in_channel, contrast))  # type: ignore[arg-type]


@st.cache_data(max_entries=64, show_spinner=False)
def _layer_shape(model_key: str, layer: str, _loaded: LoadedModel) -> tuple[int, int, int, int, int]:
    return conv_shape(_loaded.model, layer)


def _conv1(loaded: LoadedModel, contrast: str) -> None:
    towers = loaded.towers
    out_channels = _layer_shape(loaded.key, "conv1", loaded)[0]
    st.subheader(f"conv1: {out_channels} kernels of 11x11x3" if towers == 1 else "conv1: 48 + 48 kernels, two towers")
    grid = _conv1_grid_png(loaded.key, contrast, towers, loaded)
    scores = _conv1_scores(loaded.key, towers, loaded)
    grid_tab, scores_tab, one_tab = st.tabs(["All kernels", "Colour and orientation", "One kernel, enlarged"])
    with grid_tab:
        show_png(grid, caption=f"conv1 kernels, {contrast} contrast (grey = 0)"
                 + ("; left block: tower 1 (the paper's GPU 1), right block: tower 2" if towers == 2 else ""))
        st.caption("What to notice: a trained conv1 holds oriented edges, gratings and colour blobs (the paper's "
                   "Figure 3)" + ("; in the paper, tower 1's kernels are largely colour-agnostic and tower 2's "
                                  "colour-specific" if towers == 2 else "") + "; an untrained one is noise.")
        download_buttons(fig=grid, name=f"conv1_kernels_{contrast}", key="conv1_grid")
    with scores_tab:
        _conv1_scores_view(scores, towers)
    with one_tab:
        _conv1_kernel(loaded, scores, contrast, out_channels)


def _conv1_scores_view(scores: dict, towers: int) -> None:
    by_tower = tower_summary(scores)
    if towers == 2:
        cols = st.columns(4)
        for i, row in enumerate(by_tower):
            cols[2 * i].metric(
                f"Tower {row['tower']}: mean colour specificity", f"{row['mean_colour_specificity']:.2f}"
            )
            cols[2 * i + 1].metric(f"Tower {row['tower']}: oriented kernels", f"{row['oriented_share']:.0%}")
    else:
        st.metric("Oriented kernels", f"{by_tower[0]['oriented_share']:.0%}")
    metric = st.radio(
        "Score to plot",
        ("colour_specificity", "orientation_selectivity"),
        format_func=lambda m: m.replace("_", " ").capitalize(),
        horizontal=True,
        key="kernels_score",
    )
    label = metric.replace("_", " ")
    chart_args = dict(
        title=f"conv1 {label} per kernel",
        xlabel="kernel",
        ylabel=label,
        colour=scores["tower"] if towers == 2 else None,
        colour_label="tower",
    )
    st.plotly_chart(bar_chart(scores["kernel"], {label: scores[metric]}, **chart_args), key="kernels_scores_chart")
    st.caption("What to notice: in a trained two-tower network one tower's bars stand higher on colour specificity; "
               "random weights score about 2/3 on colour and about 1/6 on orientation.")
    download_buttons(
        fig=lambda: BarChart(scores["kernel"], {label: scores[metric]}, **chart_args).png(),
        csv_rows=scores,
        name=f"conv1_{metric}",
        key="conv1_scores",
    )
    with st.expander("What the scores mean"):
        st.markdown(
            "**Colour specificity** = share of a kernel's energy outside its greyscale part (the mean of R, G and B "
            "repeated in all three channels): 0 for a grey kernel, 2/3 for one that lives in a single channel, "
            "about 2/3 for random weights. **Orientation selectivity** = largest share of the kernel's spectral "
            "energy inside one 30-degree orientation band: near 1 for an edge or grating, about 1/6 for noise. "
            "A kernel counts as **oriented** when its selectivity beats 99% of random Gaussian kernels of the same "
            "shape, so about 1% of freshly initialised kernels pass by chance."
        )


def _conv1_kernel(loaded: LoadedModel, scores: dict, contrast: str, out_channels: int) -> None:
    index = st.columns([1, 3])[0].number_input(
        f"Kernel (0-{out_channels - 1})", min_value=0, max_value=out_channels - 1, step=1, key="kernels_conv1_index"
    )
    left, middle, right = st.columns([1, 2, 1])
    with left:
        png = _kernel_png(loaded.key, int(index), contrast, loaded)
        show_png(png, caption=f"kernel {index} (RGB)")
        download_buttons(fig=png, name=f"conv1_kernel_{index}", key="conv1_kernel")
    with middle:
        show_png(
            _kernel_channels_png(loaded.key, "conv1", int(index), loaded),
            caption="its R, G and B weights, left to right (blue negative, white zero, red positive; one scale)",
        )
    with right:
        tower = int(scores["tower"][index])
        st.metric("Colour specificity", f"{scores['colour_specificity'][index]:.3f}")
        st.metric("Orientation selectivity", f"{scores['orientation_selectivity'][index]:.3f}")
        st.caption(f"Tower {tower}; weight norm {scores['norm'][index]:.3f}")
    st.caption("What to notice: an edge kernel has the same stripes in R, G and B; a colour kernel differs "
               "between them.")


def _deeper(loaded: LoadedModel, layer: str, contrast: str) -> None:
    out_channels, in_per_group, k, _, groups = _layer_shape(loaded.key, layer, loaded)
    st.subheader(f"{layer}: {out_channels} kernels of {k}x{k}x{in_per_group}")
    if groups > 1:
        st.caption(
            f"Grouped over {groups} towers: each kernel sees only the {in_per_group} maps of its own tower, so "
            f"input channel i below means channel i of the kernel's own tower."
        )
    view = st.radio(
        "Show",
        ("One input channel across all kernels", "One kernel across its input channels"),
        horizontal=True,
        key="kernels_deep_view",
    )
    if view.startswith("One input"):
        channel = st.slider("Input channel", 0, in_per_group - 1, 0, key=f"kernels_{layer}_in")
        png = _channel_slices_png(loaded.key, layer, int(channel), contrast, loaded)
        show_png(png, caption=f"{layer}: weights on input channel {channel}, one tile per kernel (blue < 0 < red)")
        st.caption("What to notice: which kernels listen to this input map at all (strong colour) and which ignore "
                   "it (white).")
        download_buttons(fig=png, name=f"{layer}_input_{channel}", key=f"{layer}_slices")
    else:
        index = st.slider("Kernel", 0, out_channels - 1, 0, key=f"kernels_{layer}_out")
        png = _kernel_channels_png(loaded.key, layer, int(index), loaded)
        show_png(png, caption=f"{layer} kernel {index}: one tile per input channel, one shared scale (blue < 0 < red)")
        st.caption("What to notice: a trained kernel draws on a few input maps strongly; the rest stay near white.")
        download_buttons(fig=png, name=f"{layer}_kernel_{index}", key=f"{layer}_kernel")


loaded = current_model()
st.title("Kernels")
show_notice(loaded)
layers = list(conv_layers(loaded.model))
top = st.columns([2, 2, 3])
layer = top[0].selectbox("Layer", layers, key="kernels_layer")
contrast = top[1].radio("Contrast", CONTRASTS, horizontal=True, key="kernels_contrast", help=CONTRAST_HELP)
if layer == "conv1":
    _conv1(loaded, contrast)
else:
    _deeper(loaded, layer, contrast)
