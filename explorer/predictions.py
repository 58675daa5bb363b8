"""Predictions as people read them: horizontal bars with class names, and which classes a model knows (no Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["TRAINED_ON", "class_score_bars", "hbar_chart", "known_classes_line", "top5_bars"]

BAR_COLOUR = "#4c78a8"
TRUE_COLOUR = "#d62728"  # the true class, red as in the paper's Figure 4
LISTED_CLASSES = 20  # up to this many classes are named one by one
#: The data set behind each kind of model whose training data is known (``explorer.models.ModelKind``).
TRAINED_ON = {"reference": "Imagenette", "torchvision": "ImageNet"}


def hbar_chart(
    labels: Sequence[str],
    values: Sequence[float] | np.ndarray,
    *,
    highlight: str | None = None,
    xlabel: str = "",
    value_format: str = ".3f",
    xrange: tuple[float, float] | None = None,
    row_px: int = 24,
    title: str = "",
):
    """Plotly horizontal bars, the first label on top, each bar's value written beside it.

    ``highlight`` colours the bar of that label red (the true class). Built from a plain dict in one
    step, like ``explorer.figures.bar_chart`` (plotly's property-by-property path costs ~10x more).
    """
    import plotly.graph_objects as go

    labels = [str(label) for label in labels]
    values = [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]
    colours = [TRUE_COLOUR if label == highlight else BAR_COLOUR for label in labels]
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": values,
        "y": labels,
        "marker": {"color": colours},
        "text": [format(v, value_format) for v in values],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{y}: %{x:" + value_format + "}<extra></extra>",
    }
    xaxis: dict[str, Any] = {"title": {"text": xlabel}} if xlabel else {}
    if xrange is not None:
        xaxis["range"] = list(xrange)
    layout = {
        "height": 40 + (30 if title else 0) + row_px * max(1, len(labels)),
        "margin": {"l": 10, "r": 45, "t": 30 if title else 5, "b": 35 if xlabel else 5},
        "bargap": 0.2,
        "xaxis": xaxis,
        "yaxis": {"autorange": "reversed", "automargin": True},
        "showlegend": False,
    }
    if title:
        layout["title"] = {"text": title}
    return go.Figure({"data": [trace], "layout": layout})


def top5_bars(rows: Sequence[Mapping[str, Any]], true_name: str | None = None, *, title: str = ""):
    """The top-5 rows of ``explorer.activations.top_k`` (or ``alexnet.predict.top_classes``) as bars of probability."""
    return hbar_chart(
        [row["name"] for row in rows],
        [row["probability"] for row in rows],
        highlight=true_name,
        xlabel="probability",
        xrange=(0.0, 1.0),
        title=title,
    )


def class_score_bars(scores: np.ndarray, class_names: Sequence[str] | None, limit: int = LISTED_CLASSES):
    """fc8's scores, highest first: every class when there are at most ``limit``, else the ``limit`` highest.

    Returns (figure, how many of how many classes are shown).
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")[:limit]
    names = [class_names[i] if class_names is not None and i < len(class_names) else f"class {i}" for i in order]
    figure = hbar_chart(names, scores[order], xlabel="score (fc8 output, before softmax)", value_format=".2f")
    return figure, (len(order), scores.size)


def known_classes_line(class_names: Sequence[str] | None, dataset: str | None = None) -> str | None:
    """One sentence on what the model can name, so a photo of something else is understood; None without names."""
    if not class_names:
        return None
    count = len(class_names)
    where = f" ({dataset})" if dataset else ""
    if count <= LISTED_CLASSES:
        listed = ", ".join(class_names)
        return (
            f"This model knows only these {count} classes{where}: {listed}. A photo of anything else still "
            "gets one of these names, whichever it looks most like."
        )
    return (
        f"This model knows {count} classes{where}; a photo of something outside them still gets the name of "
        "whichever known class it looks most like."
    )
