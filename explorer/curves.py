"""Training curves from run folders (no Streamlit).

A run folder is what `alexnet train` writes (layout: ``alexnet.runs``): ``metrics.jsonl``
with one record per epoch and ``snapshots/epoch_NNN.pt`` with the conv layers at chosen
epochs. The bundled reference model (``alexnet.reference.REFERENCE_DIR``) is laid out the
same way. Reading the files is ``alexnet.runs``'s job (``read_metrics``, ``list_snapshots``,
``list_runs``); this module turns the records into curves, tables and figures. The Figure 1
(ReLU vs tanh) results have their own module, ``explorer.figure1``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from alexnet.runs import list_runs, list_snapshots, read_metrics

__all__ = [
    "SERIES",
    "RunFolder",
    "curve_columns",
    "curve_rows",
    "curves_figure",
    "curves_matplotlib",
    "epoch_record",
    "list_snapshots",
    "lr_drop_epochs",
    "read_metrics",
    "run_folders",
    "summary_numbers",
]


@dataclass(frozen=True)
class Series:
    key: str  # metrics.jsonl key
    label: str
    panel: str  # "loss" | "error" | "lr"
    aliases: tuple[str, ...] = ()  # other spellings of the same quantity


# What the Training page plots, in legend order. Errors are fractions in the files, plotted in %.
SERIES: tuple[Series, ...] = (
    Series("train_loss", "training loss (cross-entropy)", "loss"),
    Series("train_top1_error", "training top-1 error", "error", aliases=("train_error",)),
    Series("val_top1_error", "validation top-1 error", "error"),
    Series("val_top5_error", "validation top-5 error", "error"),
    Series("val_ten_crop_top1_error", "validation top-1 error, 10 crops", "error"),
    Series("val_ten_crop_top5_error", "validation top-5 error, 10 crops", "error"),
    Series("lr", "learning rate", "lr"),
)
PANELS = (("loss", "loss"), ("error", "error (%)"), ("lr", "learning rate"))


@dataclass(frozen=True)
class RunFolder:
    label: str
    path: Path
    is_reference: bool = False


def _is_run_like(folder: Path) -> bool:
    return (folder / "metrics.jsonl").is_file() or bool(list_snapshots(folder))


def run_folders(runs_dir: str | os.PathLike | None = None, reference_dir: Path | None = None) -> list[RunFolder]:
    """The bundled reference run (when it ships) first, then ``runs/<name>`` folders by name."""
    if reference_dir is None:
        from alexnet.reference import REFERENCE_DIR

        reference_dir = REFERENCE_DIR
    found = []
    if reference_dir.is_dir() and _is_run_like(reference_dir):
        found.append(RunFolder("reference model (bundled)", reference_dir, is_reference=True))
    found.extend(RunFolder(f"run {p.name}", p) for p in list_runs(runs_dir))
    return found


def _value(record: dict[str, Any], series: Series) -> float | None:
    for key in (series.key, *series.aliases):
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def curve_columns(records: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """{"epoch": [...], <series key>: [...]} for every series some record has; None where a record lacks it.

    Records without an integer ``epoch`` are skipped; records are sorted by epoch.
    """
    usable = sorted(
        (r for r in records if isinstance(r.get("epoch"), int) and not isinstance(r.get("epoch"), bool)),
        key=lambda r: r["epoch"],
    )
    columns: dict[str, list[float | None]] = {"epoch": [r["epoch"] for r in usable]}
    for series in SERIES:
        values = [_value(r, series) for r in usable]
        if any(v is not None for v in values):
            columns[series.key] = values
    return columns


def curve_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The curves as CSV rows: one per epoch, one column per plotted series."""
    columns = curve_columns(records)
    return [{name: values[i] for name, values in columns.items()} for i in range(len(columns["epoch"]))]


def epoch_record(records: list[dict[str, Any]], epoch: int) -> dict[str, Any] | None:
    """The metrics record of ``epoch`` (the last one if it appears twice), or None."""
    matches = [r for r in records if r.get("epoch") == epoch]
    return matches[-1] if matches else None


def lr_drop_epochs(records: list[dict[str, Any]]) -> list[int]:
    """Epochs after which the learning rate was divided (the record's ``lr_dropped`` flag)."""
    return [r["epoch"] for r in records if r.get("lr_dropped") and isinstance(r.get("epoch"), int)]


def curves_figure(
    records: list[dict[str, Any]], *, title: str = "", mark_epoch: int | None = None
) -> go.Figure:
    """Loss, top-1/top-5 errors (%) and learning rate (log scale) against epoch, side by side.

    ``mark_epoch`` draws a vertical line (the epoch the snapshot slider shows); dotted
    lines mark the epochs after which the learning rate was divided.
    """
    columns = curve_columns(records)
    fig = make_subplots(rows=1, cols=3, subplot_titles=[name for _, name in PANELS], horizontal_spacing=0.08)
    col_of = {panel: i + 1 for i, (panel, _) in enumerate(PANELS)}
    for series in SERIES:
        if series.key not in columns:
            continue
        values = columns[series.key]
        if series.panel == "error":
            values = [None if v is None else 100 * v for v in values]
        fig.add_trace(
            go.Scatter(x=columns["epoch"], y=values, name=series.label, mode="lines+markers",
                       line={"dash": "dash" if series.key.startswith("train") else "solid"}),
            row=1, col=col_of[series.panel],
        )
    fig.update_yaxes(type="log", row=1, col=col_of["lr"])
    fig.update_xaxes(title_text="epoch")
    for epoch in lr_drop_epochs(records):
        fig.add_vline(x=epoch, line={"dash": "dot", "color": "grey"})
    if mark_epoch is not None:
        fig.add_vline(x=mark_epoch, line={"color": "crimson"})
    fig.update_layout(title=title or None, height=380, legend={"orientation": "h", "y": -0.25},
                      margin={"t": 60, "b": 40})
    return fig


def curves_matplotlib(records: list[dict[str, Any]], *, title: str = "", mark_epoch: int | None = None):
    """The same three panels as ``curves_figure`` as a matplotlib Figure (for PNG downloads)."""
    from matplotlib.figure import Figure

    columns = curve_columns(records)
    fig = Figure(figsize=(12, 3.6), dpi=110)
    axes = {panel: fig.add_subplot(1, 3, i + 1) for i, (panel, _) in enumerate(PANELS)}
    for (panel, name) in PANELS:
        axes[panel].set_title(name, fontsize=9)
        axes[panel].set_xlabel("epoch")
    for series in SERIES:
        if series.key not in columns:
            continue
        points = [(e, v) for e, v in zip(columns["epoch"], columns[series.key], strict=True) if v is not None]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        if series.panel == "error":
            ys = tuple(100 * y for y in ys)
        axes[series.panel].plot(xs, ys, "--" if series.key.startswith("train") else "-", marker=".",
                                label=series.label)
    axes["lr"].set_yscale("log")
    for ax in axes.values():
        for epoch in lr_drop_epochs(records):
            ax.axvline(epoch, color="grey", ls=":", lw=1)
        if mark_epoch is not None:
            ax.axvline(mark_epoch, color="crimson", lw=1)
        if ax.lines:
            ax.legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def summary_numbers(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Last epoch, its validation errors, and the best validation top-1 error and when (None where absent)."""
    columns = curve_columns(records)
    if not columns["epoch"]:
        return {"last_epoch": None, "last_val_top1": None, "last_val_top5": None, "best_val_top1": None,
                "best_epoch": None}
    top1 = columns.get("val_top1_error", [None] * len(columns["epoch"]))
    top5 = columns.get("val_top5_error", [None] * len(columns["epoch"]))
    scored = [(v, e) for v, e in zip(top1, columns["epoch"], strict=True) if v is not None]
    best = min(scored) if scored else (None, None)
    return {"last_epoch": columns["epoch"][-1], "last_val_top1": top1[-1], "last_val_top5": top5[-1],
            "best_val_top1": best[0], "best_epoch": best[1]}
