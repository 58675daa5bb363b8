"""Validation: the chosen model's confusion matrix and per-class error on the data folder's validation images."""

from __future__ import annotations

import streamlit as st

from explorer.predictions import hbar_chart
from explorer.validation import class_rows, confusion_figure, confusion_rows, dataset_folder
from pages.dataset_caching import cached_dataset_classifier, cached_validation
from pages.state import current_model
from pages.widgets import download_buttons, show_notice

loaded = current_model()
st.title("Validation")
show_notice(loaded)
st.caption(
    "Every validation image through the chosen model (centre crop, as `alexnet evaluate` scores it): which class "
    "it is, which class the model names. The first time for a model this takes a while on a CPU; then it is kept."
)

dataset = str(dataset_folder())
classifier, why = cached_dataset_classifier(loaded.key, dataset, ("val",), loaded)
if classifier is None:
    st.info(why, icon=":material/info:")
    st.stop()

summary = cached_validation(loaded.key, dataset, classifier)
names = summary["class_names"]
columns = st.columns(4)
columns[0].metric("Top-1 error", f"{summary['top1_error']:.1%}")
columns[1].metric("Top-5 error", f"{summary['top5_error']:.1%}")
columns[2].metric("Chance (top-1)", f"{1 - 1 / len(names):.0%}")
columns[3].metric("Validation images", f"{summary['images']:,}")

matrix, errors = st.columns([3, 2])
with matrix:
    st.subheader("Confusion matrix")
    st.plotly_chart(confusion_figure(summary["confusion"], names), key="validation_confusion")
    st.caption("Row: the true class; column: the class the model named. Colour: share of the row; numbers: images.")
    download_buttons(csv_rows=confusion_rows(summary), name="confusion_matrix", key="confusion")
with errors:
    st.subheader("Error per class")
    rows = class_rows(summary)
    figure = hbar_chart(
        names, summary["per_class_error"], xlabel="top-1 error", value_format=".0%", xrange=(0.0, 1.0), row_px=34
    )
    st.plotly_chart(figure, key="validation_errors", config={"displayModeBar": False})
    st.dataframe(rows, hide_index=True, column_config={"error": st.column_config.NumberColumn(format="percent")})
    download_buttons(csv_rows=rows, name="error_per_class", key="errors")
