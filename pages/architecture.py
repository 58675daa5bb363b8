"""Architecture: the chosen model drawn as the paper's Figure 2, its layer table, and how the variants differ."""

from __future__ import annotations

import streamlit as st

from alexnet.summary import layer_summary
from explorer.architecture import (
    VARIANTS,
    analyse_variant,
    bars_figure,
    bars_matplotlib,
    layer_table,
    measured_comparison,
    overview_row,
    totals,
)
from explorer.diagram import diagram_blocks, diagram_figure
from explorer.display import table_height
from explorer.figures import png_bytes
from explorer.models import LoadedModel
from pages.state import current_model
from pages.widgets import download_buttons

COUNT_COLUMNS = {
    "params": st.column_config.NumberColumn("params", format="localized"),
    "mult_adds": st.column_config.NumberColumn("mult-adds", format="localized"),
}


@st.cache_data(show_spinner="Building the model and measuring its layers ...")
def _variant_table(label: str) -> tuple[list[dict], dict[str, int]]:
    rows = list(analyse_variant(label)[0])
    return layer_table(rows), totals(rows)


@st.cache_data(max_entries=8, show_spinner="Measuring the chosen model's layers ...")
def _sidebar_table(model_key: str, _loaded: LoadedModel) -> tuple[list[dict], dict[str, int]]:
    rows = layer_summary(_loaded.model, (3, 227, 227))
    return layer_table(rows), totals(rows)


@st.cache_data(max_entries=8, show_spinner="Drawing the network ...")
def _diagram_png(model_key: str, towers: int, _loaded: LoadedModel) -> bytes:
    return png_bytes(diagram_figure(diagram_blocks(_loaded.model, 227, towers=towers)), dpi=100)


@st.cache_data(show_spinner="Measuring the paper's and torchvision's models ...")
def _comparison() -> list[dict[str, str]]:
    return measured_comparison()


loaded = current_model()
st.title("Architecture")
st.caption(f"The model chosen in the sidebar, **{loaded.label}**, as measured from the instantiated network at a "
           "3x227x227 input: nothing on this page is typed in.")

table, total = _sidebar_table(loaded.key, loaded)
c1, c2, c3 = st.columns(3)
c1.metric("parameters", f"{total['params']:,}")
c2.metric("multiply-adds per image", f"{total['mult_adds']:,}")
c3.metric("layers with weights", sum(1 for r in table if r["params"]))

diagram = _diagram_png(loaded.key, loaded.towers, loaded)
st.image(diagram, caption="The network as in the paper's Figure 2: one box per layer with its output shape "
         "(per tower), what follows it underneath", output_format="PNG")
st.caption("What to notice: " + ("the two towers (the paper's two GPUs) exchange maps only at conv3 and the fully "
                                 "connected layers (red arrows); conv2, conv4 and conv5 see only their own tower."
                                 if loaded.towers == 2 else
                                 "the maps shrink from 55x55 to 6x6 while the channels grow from 96 to 256-384; "
                                 "the fully connected layers hold most of the parameters."))
download_buttons(fig=diagram, name="architecture_diagram")

layers_tab, variants_tab, differences_tab = st.tabs(
    ["Layer by layer", "All variants side by side", "Paper vs torchvision vs a popular write-up"])
with layers_tab:
    st.plotly_chart(bars_figure(table, loaded.label), key="arch_bars")
    st.caption("What to notice: fc6 alone holds over half the parameters; the convolutions do most of the "
               "multiply-adds.")
    download_buttons(fig=lambda: bars_matplotlib(table, loaded.label), name="architecture_sidebar_model_bars")
    st.dataframe(table, hide_index=True, height=table_height(len(table)), column_config=COUNT_COLUMNS)
    download_buttons(csv_rows=table, name="architecture_sidebar_model_layers")
    with st.expander("How these numbers are measured"):
        st.markdown(
            "With `alexnet.summary.layer_summary` on the instantiated model: output shapes from a forward pass, "
            "parameters from the modules, multiply-adds from each convolution's and linear layer's shapes (per "
            "image).")

with variants_tab:
    overview = [overview_row(label, *_variant_table(label)) for label in VARIANTS]
    st.dataframe(overview, hide_index=True, column_config=COUNT_COLUMNS)
    st.caption("What to notice: two towers save about 1.4M parameters (grouped convolutions); torchvision's "
               "AlexNet is the later 'one weird trick' network, not the 2012 paper's.")
    download_buttons(csv_rows=overview, name="architecture_variants")
    with st.expander("What each variant is"):
        st.markdown("\n".join(f"- **{label}** (3x{v.input_size}x{v.input_size}): {v.note}"
                              for label, v in VARIANTS.items()))

with differences_tab:
    comparison = _comparison()
    st.dataframe(comparison, hide_index=True)
    st.caption("What to notice: where torchvision and the write-up depart from the paper; this project follows "
               "the paper.")
    download_buttons(csv_rows=comparison, name="architecture_differences")
    with st.expander("Where these columns come from"):
        st.markdown(
            "The paper and torchvision columns are measured from freshly built models (`explorer.architecture."
            "measure_model`); the write-up's column quotes what its code does differently from the paper, as the "
            "project's PAPER.md records it (that code is not part of this project; '—' means no difference is "
            "recorded there).")
