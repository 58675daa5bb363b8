"""Architecture: layer tables computed from the models, and how the paper, torchvision and a write-up differ."""

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
from explorer.display import table_height
from explorer.models import LoadedModel
from pages.state import current_model
from pages.widgets import download_buttons, show_notice

SIDEBAR_CHOICE = "__sidebar__"


@st.cache_data(show_spinner="Building the model and measuring its layers ...")
def _variant_table(label: str) -> tuple[list[dict], dict[str, int]]:
    rows = list(analyse_variant(label)[0])
    return layer_table(rows), totals(rows)


@st.cache_data(max_entries=8, show_spinner="Measuring the chosen model's layers ...")
def _sidebar_table(model_key: str, _loaded: LoadedModel) -> tuple[list[dict], dict[str, int]]:
    rows = layer_summary(_loaded.model, (3, 227, 227))
    return layer_table(rows), totals(rows)


@st.cache_data(show_spinner="Measuring the paper's and torchvision's models ...")
def _comparison() -> list[dict[str, str]]:
    return measured_comparison()


loaded = current_model()
st.title("Architecture")
show_notice(loaded)
st.markdown(
    "Every number on this page is computed from an instantiated model with `alexnet.summary.layer_summary`: "
    "output shapes from a forward pass, parameters from the modules, multiply-adds from each convolution's "
    "and linear layer's shapes (per image). Nothing is typed in."
)

choices = [*VARIANTS, SIDEBAR_CHOICE]
choice = st.selectbox(
    "Model", choices, key="arch_variant",
    format_func=lambda c: f"the model chosen in the sidebar ({loaded.label})" if c == SIDEBAR_CHOICE else c,
)
if choice == SIDEBAR_CHOICE:
    table, total = _sidebar_table(loaded.key, loaded)
    st.caption("Measured at the dashboard's 3x227x227 input.")
else:
    table, total = _variant_table(choice)
    size = VARIANTS[choice].input_size
    st.caption(f"{VARIANTS[choice].note} Measured at its own input, 3x{size}x{size}.")

c1, c2, c3 = st.columns(3)
c1.metric("parameters", f"{total['params']:,}")
c2.metric("multiply-adds per image", f"{total['mult_adds']:,}")
c3.metric("layers with weights", sum(1 for r in table if r["params"]))
st.dataframe(table, hide_index=True, height=table_height(len(table)), column_config={
    "params": st.column_config.NumberColumn("params", format="localized"),
    "mult_adds": st.column_config.NumberColumn("mult-adds", format="localized"),
})
name = "architecture_" + ("sidebar_model" if choice == SIDEBAR_CHOICE else choice.replace(", ", "_").replace(" ", "_"))
download_buttons(csv_rows=table, name=f"{name}_layers")

title = loaded.label if choice == SIDEBAR_CHOICE else choice
st.plotly_chart(bars_figure(table, title), key="arch_bars")
download_buttons(fig=lambda: bars_matplotlib(table, title), name=f"{name}_bars")

st.subheader("All variants side by side")
overview = [overview_row(label, *_variant_table(label)) for label in VARIANTS]
st.dataframe(overview, hide_index=True, column_config={
    "params": st.column_config.NumberColumn("params", format="localized"),
    "mult_adds": st.column_config.NumberColumn("mult-adds", format="localized"),
})
download_buttons(csv_rows=overview, name="architecture_variants")

st.subheader("The paper, torchvision's AlexNet and the popular write-up's code")
st.markdown(
    "The paper and torchvision columns are measured from freshly built models (`explorer.architecture."
    "measure_model`); the write-up's column quotes what its code does differently from the paper, as the "
    "project's PAPER.md records it (that code is not part of this project; '-' means no difference is "
    "recorded there). Where a popular write-up or code disagrees with the paper, this project follows the paper."
)
comparison = _comparison()
st.table(comparison)
download_buttons(csv_rows=comparison, name="architecture_differences")
