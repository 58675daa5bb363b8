"""Figure 4: validation images with their top-5 and the six training images nearest in fc7 space; then your image."""

from __future__ import annotations

import streamlit as st

from explorer.figure4 import NEIGHBOURS, pick_examples
from explorer.predictions import top5_bars
from explorer.validation import dataset_folder
from pages.caching import cached_top_k
from pages.dataset_caching import (
    cached_dataset_classifier,
    cached_examples,
    cached_figure4_scores,
    cached_image_neighbours,
)
from pages.state import current_model
from pages.widgets import require_image, show_notice, show_thumbnail

NEIGHBOUR_WIDTH = 90
SEED_STATE = "figure4_seed"


def figure_row(key: str, show_query, caption: str, top5: list[dict] | None, true: str | None, near: list[dict] | None):
    """One row of the figure: the query image, its top-5 bars (true class in red), its nearest training images."""
    query, bars, neighbours = st.columns([1, 1.9, 4.4], vertical_alignment="center")
    with query:
        show_query()
        if caption:
            st.caption(caption)
    with bars:
        if top5 is not None:
            st.plotly_chart(top5_bars(top5, true), key=f"figure4_top5_{key}", config={"displayModeBar": False})
    with neighbours:
        if near:
            st.image(
                [n["image"] for n in near],
                caption=[f"{n['name']} ({n['distance']:.3g})" for n in near],
                width=NEIGHBOUR_WIDTH,
            )


loaded = current_model()
st.title("Figure 4: what the network considers similar")
show_notice(loaded)
st.caption(
    "As in the paper's Figure 4: each validation image with the model's five most probable classes (the true "
    f"class in red) and the {NEIGHBOURS} training images whose fc7 vectors (the 4,096 numbers after fc7's ReLU) "
    "are nearest to its own in Euclidean distance (shown under each, with the class). Near in fc7 need not mean "
    "near in pixels: the last layers group images by what they show."
)

dataset = str(dataset_folder())
classifier, why = cached_dataset_classifier(loaded.key, dataset, ("train", "val"), loaded)
if classifier is None:
    st.info(why, icon=":material/info:")
else:
    scores = cached_figure4_scores(loaded.key, dataset, classifier)
    columns = st.columns(3)
    columns[0].metric("Top-1 accuracy (validation)", f"{scores['top1']:.1%}")
    columns[1].metric(
        "Nearest-neighbour majority = true class",
        f"{scores['agreement']:.1%}",
        help=f"Share of validation images whose {NEIGHBOURS} nearest training images (fc7, Euclidean) are mostly "
        "of the image's own class: how well fc7 alone sorts the classes, without fc8.",
    )
    columns[2].metric("Images (validation / training)", f"{scores['val_images']:,} / {scores['train_images']:,}")
    controls = st.columns([2, 1, 3], vertical_alignment="bottom")
    count = controls[0].slider("Validation images shown", 1, 10, 4, key="figure4_count")
    if controls[1].button("Other images", key="figure4_shuffle", icon=":material/shuffle:"):
        st.session_state[SEED_STATE] = st.session_state.get(SEED_STATE, 0) + 1
    indices = pick_examples(scores["labels"], count, st.session_state.get(SEED_STATE, 0))
    for i, row in enumerate(cached_examples(loaded.key, dataset, tuple(indices), classifier)):
        predicted = row["top5"][0]["name"]
        mark = "right" if predicted == row["true"] else f"wrong: {predicted}"
        figure_row(
            f"val{i}",
            lambda row=row: st.image(row["image"], width=140),
            f"true class: {row['true']} ({mark})",
            row["top5"],
            row["true"],
            row["neighbours"],
        )

st.subheader("Your image")
chosen = require_image("figure4", "Choose an image above to see its top-5 and its nearest training images.")
image, digest, true_class = chosen.image, chosen.hash, chosen.true_class
top5 = cached_top_k(loaded.key, digest, 5, loaded, image) if loaded.has_classifier else None
near = cached_image_neighbours(loaded.key, dataset, digest, classifier, loaded, image) if classifier else None
figure_row(
    "user",
    lambda: show_thumbnail(image, digest, chosen.name, width=140),
    f"true class: {true_class}" if true_class else "",
    top5,
    true_class,
    near,
)
if top5 is None:
    st.caption(loaded.classifier_note or "This model has no classifier for known classes.")
