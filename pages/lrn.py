"""Local response normalisation (paper, section 3.3): what it does to conv1 and conv2, and downstream."""

from __future__ import annotations

import streamlit as st
from PIL import Image

from alexnet.lrn import ALPHA_CONVENTIONS
from explorer.activations import feature_stages, top_k
from explorer.display import before_after_picture, fit_scale, lrn_analysis
from explorer.figures import png_bytes
from explorer.lrn import (
    PAPER_LRN,
    LRNParams,
    change_image,
    lrn_layer_count,
    response_curves,
    response_figure,
    response_range,
    shared_range_grids,
    winner_image,
    winner_shift_rows,
)
from explorer.models import LoadedModel
from pages.state import current_model
from pages.widgets import download_buttons, image_picker, show_notice

ALPHAS = (1e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 1e-2, 1e-1, 1.0)
ENERGIES = (0.0, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7)
CONVENTION_LABELS = {
    "cuda-convnet": "alpha / n (cuda-convnet, Caffe, torch; this project's default)",
    "paper": "alpha as printed in the paper",
}
PARAM_KEYS = ("lrn_k", "lrn_n", "lrn_alpha", "lrn_beta", "lrn_convention")


def show_side_by_side(*pictures: tuple[bytes, str, str]) -> None:
    """PNG pictures in equal columns, each with its caption and a download button: (png, caption, name)."""
    for column, (png, caption, name) in zip(st.columns(len(pictures)), pictures, strict=True):
        with column:
            st.image(png, caption=caption, output_format="PNG")
            download_buttons(fig=png, name=name)


@st.cache_data(max_entries=32, show_spinner="Running the network with and without LRN ...")
def _analysis(model_key: str, image_hash: str, params: LRNParams, _loaded: LoadedModel, _image: Image.Image):
    return lrn_analysis(_loaded.model, _image, _loaded.data_stats, params, with_logits=_loaded.has_classifier)


def _reset_to_paper() -> None:
    for key in PARAM_KEYS:
        st.session_state.pop(key, None)


loaded = current_model()
st.title("Local response normalisation")
show_notice(loaded)
st.caption(
    "The paper (section 3.3) divides each ReLU output by the activity of its neighbours *across channels* at the "
    "same position, so big activities compete (lateral inhibition); it reports 1.4% lower top-1 error with it."
)
with st.expander("The formula and the paper's constants"):
    st.latex(
        r"b^i_{x,y} = a^i_{x,y} \Big/ \Big(k + \alpha \sum_{j=\max(0,\,i-n/2)}^{\min(N-1,\,i+n/2)}"
        r" \big(a^j_{x,y}\big)^2\Big)^{\beta}"
    )
    st.markdown(
        "with $k=2$, $n=5$, $\\alpha=10^{-4}$, $\\beta=0.75$, after the ReLUs of conv1 and conv2. The paper prints "
        "$\\alpha$ as is; the authors' code (cuda-convnet), Caffe and PyTorch divide it by $n$. Everything on this "
        "page is computed with the project's `alexnet.lrn.LocalResponseNorm`."
    )

own_lrn = lrn_layer_count(loaded.model)
if own_lrn == 0:
    st.info(
        f"{loaded.label} has no LRN layers. This page shows what LRN with the settings below would do "
        "to its conv1 and conv2 outputs, and how its later layers would change.",
        icon=":material/info:",
    )
model_convention = getattr(getattr(loaded.model, "config", None), "lrn_alpha_convention", "cuda-convnet")
# The layers' names as the Activations page writes them (explorer.activations.feature_stages).
STAGES = {s.name: s.label for s in feature_stages(loaded.model)}


def relu_label(layer: str) -> str:
    """conv3 -> "relu3 (conv3 + ReLU)": the stage the page shows for a conv layer."""
    return STAGES.get(f"relu{layer.removeprefix('conv')}", layer)


with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4)
    k = c1.slider("k", 0.0, 5.0, float(PAPER_LRN["k"]), 0.1, key="lrn_k", help="additive constant (paper: 2)")
    n = c2.slider("n (window, channels)", 1, 15, int(PAPER_LRN["size"]), 1, key="lrn_n", help="paper: 5")
    alpha = c3.select_slider(
        "alpha", ALPHAS, value=PAPER_LRN["alpha"], key="lrn_alpha", format_func=lambda v: f"{v:g}",
        help="paper: 1e-4",
    )
    beta = c4.slider("beta", 0.0, 2.0, float(PAPER_LRN["beta"]), 0.05, key="lrn_beta", help="paper: 0.75")
    r1, r2, r3 = st.columns([3, 2, 1], vertical_alignment="center")
    convention = r1.radio(
        "alpha convention", ALPHA_CONVENTIONS, index=ALPHA_CONVENTIONS.index(model_convention),
        format_func=CONVENTION_LABELS.get, horizontal=True, key="lrn_convention",
    )
    towers = loaded.towers
    within = r2.checkbox(
        "Keep each window inside its tower", value=towers == 2, key="lrn_within_towers",
        disabled=towers == 1, help="The paper's two GPUs: channels of one tower never see the other's. Only for "
        "two-tower models.",
    )
    r3.button("Reset to paper", on_click=_reset_to_paper, help="k=2, n=5, alpha=1e-4, beta=0.75")
    params = LRNParams(k=k, size=n, alpha=alpha, beta=beta, alpha_convention=convention,
                       groups=2 if (within and towers == 2) else 1)
    st.caption(
        f"Effective alpha (multiplies the window's sum of squares): **{params.effective_alpha:.3g}**. "
        f"With no neighbour activity every unit is divided by at least k^beta = **{k ** beta:.3g}**."
    )

picked = image_picker("lrn")
result = _analysis(loaded.key, picked[1], params, loaded, picked[0]) if picked is not None else None


def _response_curve() -> None:
    st.caption(
        "One channel's output against its own input, for a fixed sum of squares $E$ in the other $n-1$ "
        "channels of its window. Its own square is in the window too, so a strong unit inhibits itself."
    )
    energy = st.select_slider(
        "Neighbour energy E (sum of squares of the other channels in the window)", ENERGIES, value=1e4,
        key="lrn_energy", format_func=lambda v: f"{v:g}",
    )
    energies = (0.0, energy) if energy > 0 else (0.0,)
    mark = result["activation_p99"] if result is not None else None
    image_range = "this image's conv1 activations"
    x_range = st.radio("Input axis", ("around the curve's peak", image_range), index=1, horizontal=True,
                       key="lrn_curve_range",
                       help="The peak is where a stronger input starts to give a weaker output.")
    a_max = 1.5 * mark if (x_range == image_range and mark) else response_range(params, 0.0)
    columns = response_curves(params, energies, a_max)
    figure = response_figure(columns, params, mark=mark)
    st.pyplot(figure, width=720)
    st.caption("What to notice: with busy neighbours (E > 0) the output grows more slowly and, past the peak, "
               "falls: the strongest inputs are held back most.")
    download_buttons(fig=figure, csv_rows=columns, name="lrn_response_curve")


def _layer(layer: str, data: dict) -> None:
    effect = data["effect"]
    m = st.columns(4)
    m[0].metric("positions whose winner changes", f"{100 * effect['winner_change_share']:.1f}%",
                help="The winner at a position is its largest channel.")
    m[1].metric("contrast across channels", f"{effect['contrast_after']:.3f}",
                f"{effect['contrast_after'] - effect['contrast_before']:+.3f} vs before", delta_color="off",
                help="Spread of the channels at a position relative to their mean (std/mean).")
    m[2].metric("sparsity across channels", f"{effect['sparsity_after']:.3f}",
                f"{effect['sparsity_after'] - effect['sparsity_before']:+.3f} vs before", delta_color="off",
                help="Hoyer's measure across channels (1: one channel active, 0: all equal).")
    m[3].metric("mean gain (after / before)", f"{effect['mean_gain']:.3f}",
                help="Average of b/a over active units; 1 = unchanged.")

    channels, height, _ = data["before"].shape
    grid_before, grid_after = (png_bytes(g) for g in shared_range_grids(data["before"], data["after"]))
    lrn_name = f"lrn{layer.removeprefix('conv')}"  # absent from STAGES when the model has LRN off
    show_side_by_side(
        (grid_before, f"{relu_label(layer)}, before LRN", f"lrn_{layer}_before"),
        (grid_after, STAGES.get(lrn_name, f"{lrn_name} ({layer} after LRN)"), f"lrn_{layer}_after"),
    )
    st.caption(f"What to notice: all {channels} channels on one colour scale, so a darker 'after' grid means LRN "
               "divided the activations; the brightest maps dim the most.")
    with st.expander("Definitions"):
        st.markdown(
            "Before = the ReLU output; after = LRN with the settings above. **Contrast** is the spread of the "
            "channels at a position relative to their mean (std/mean), **sparsity** Hoyer's measure across "
            "channels (1: one channel active, 0: all equal); both ignore overall scale, so LRN's plain division "
            "by about k^beta does not count. The **winner** at a position is its largest channel.")
        st.caption(f"Strongest division at any unit: x{effect['min_gain']:.3f}. {100 * effect['zero_fraction']:.1f}% "
                   f"of {layer}'s units are zero (ReLU off); LRN keeps them zero.")

    with st.expander("Which channel wins at each position"):
        scale = fit_scale(height, 300)
        wb, wa = data["winners_before"], data["winners_after"]
        winner_pngs = (
            (png_bytes(winner_image(wb, channels, scale)), "before LRN (colour = channel)", "winners_before"),
            (png_bytes(winner_image(wa, channels, scale)), "after LRN", "winners_after"),
            (png_bytes(change_image(wb, wa, scale)), "white: winner changed; grey: same; black: no active channel",
             "winner_changes"),
        )
        show_side_by_side(*((picture, caption, f"lrn_{layer}_{suffix}") for picture, caption, suffix in winner_pngs))
        shifts = winner_shift_rows(wb, wa, channels)
        if shifts:
            st.caption("Channels that gain or lose the most winning positions:")
            st.dataframe(shifts[:12], hide_index=True)
            download_buttons(csv_rows=shifts, name=f"lrn_{layer}_winner_shifts")
        else:
            st.caption("No channel gains or loses a winning position with these settings.")

    with st.expander("One channel before and after"):
        default_channel = shifts[0]["channel"] if shifts else 0
        channel = st.slider("channel", 0, channels - 1, default_channel, key=f"lrn_channel_{layer}")
        pair = png_bytes(before_after_picture(data["before"], data["after"], channel))
        st.image(pair, caption=f"{layer} channel {channel}: left before LRN, right after (one colour scale)",
                 output_format="PNG")
        download_buttons(fig=pair, name=f"lrn_{layer}_channel_{channel}")


def _downstream() -> None:
    st.caption("The same image through the whole conv stack twice: with LRN (the settings above) after conv1 and "
               "conv2, and with no LRN at all.")
    downstream_maps = result["downstream_maps"]
    later = st.selectbox("Later layer to look at", list(downstream_maps), key="lrn_downstream_layer",
                         format_func=relu_label)
    with_lrn, without_lrn = downstream_maps[later]
    grid_on, grid_off = (png_bytes(g) for g in shared_range_grids(with_lrn, without_lrn, scale=2))
    show_side_by_side(
        (grid_on, f"{relu_label(later)}, with LRN", f"lrn_{later}_with_lrn"),
        (grid_off, f"{relu_label(later)}, without LRN (same colour scale)", f"lrn_{later}_without_lrn"),
    )
    st.caption("What to notice: the patterns stay (cosine near 1 in the table) while their scale changes: LRN "
               "mostly rescales what later layers see.")
    st.dataframe(result["downstream"], hide_index=True)
    download_buttons(csv_rows=result["downstream"], name="lrn_downstream")
    with st.expander("What the columns mean"):
        st.markdown(
            "**relative change** = ||on - off|| / ||off||; **cosine** compares directions only (1 = same pattern, "
            "whatever the scale); **norm ratio** = ||on|| / ||off||. Each conv row is that layer's ReLU output "
            "before any LRN of its own, so conv2's row shows what conv1's LRN alone did to it.")
    if "logits_on" in result:
        k_top = 5
        on_rows = top_k(result["logits_on"], k_top, loaded.class_names)
        off_rows = top_k(result["logits_off"], k_top, loaded.class_names)
        p1, p2 = st.columns(2)
        p1.markdown("**Top-5 with LRN**")
        p1.dataframe(on_rows, hide_index=True)
        p2.markdown("**Top-5 without LRN**")
        p2.dataframe(off_rows, hide_index=True)
    else:
        st.caption(loaded.classifier_note or "This model's classifier is not trained, so no predictions are compared.")


layer_names = list(result["layers"]) if result is not None else ["conv1", "conv2"]
tabs = st.tabs([f"What it does to {name}" for name in layer_names] + ["Downstream", "Response curve"])
summary_rows = []
for tab, name in zip(tabs, layer_names, strict=False):
    with tab:
        if result is None:
            st.info("Pick an image above to see what LRN does to this model's conv1 and conv2 activations.")
        else:
            data = result["layers"][name]
            summary_rows.append({"layer": name, **data["effect"]})
            _layer(name, data)
with tabs[-2]:
    if result is None:
        st.info("Pick an image above to compare the later layers with LRN and without.")
    else:
        _downstream()
        download_buttons(csv_rows=summary_rows, name="lrn_effect_summary")
with tabs[-1]:
    _response_curve()
