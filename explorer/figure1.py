"""Figure 1 (ReLU vs tanh) from a results.json: tables, the summary line, matplotlib and plotly figures, PNGs.

The results dict is what ``alexnet.relu_tanh.run_experiment`` writes; everything here only reads it.
The Figure 1 chart exists in both backends: ``figure1_curves`` computes what is drawn (one
``Curve`` per run), and ``matplotlib_figure`` (PNG, the paper's style) and ``plotly_figure``
(the dashboard) only draw it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alexnet.relu_tanh.config import MEASURES
from alexnet.relu_tanh.results import validate_results

__all__ = [
    "Curve", "conditions_figure", "curves_table", "figure1_best_supported_row", "figure1_condition_rows",
    "figure1_curves", "figure1_run_rows", "figure1_summary", "figure1_sweep_rows", "decision_measure",
    "matplotlib_figure", "measure_label", "measures_figure", "plotly_figure", "summary_line", "write_figures",
]

# activation -> (plotly dash, matplotlib line style, colour, legend label): the paper's solid ReLU, dashed tanh.
from explorer.figure1_tables import (  # noqa: E402 - the tables live apart; figures and pages use them here too
    curves_table,
    decision_measure,
    figure1_best_supported_row,
    figure1_condition_rows,
    figure1_run_rows,
    figure1_summary,
    figure1_sweep_rows,
    measure_label,
    summary_line,
)

_STYLE = {"relu": ("solid", "-", "#1f4e9c", "ReLU"), "tanh": ("dash", "--", "#c0392b", "tanh")}


# --- tables -------------------------------------------------------------------------------------------------


def _group(results: dict, condition: str | None) -> dict:
    """The baseline (``condition`` None or "baseline") or a studied condition: its runs and ratios."""
    if condition in (None, "baseline"):
        return results
    found = [c for c in results.get("conditions", []) if c["name"] == condition]
    if not found:
        raise ValueError(f"no condition {condition!r} in these results")
    return found[0]


def _measure(results: dict, measure: str | None) -> str:
    if measure is not None and measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    return measure or results["error_measure"].get("decision", "running")


def _title(results: dict, measure: str | None, condition: str | None, separator: str) -> str:
    """The summary line of one group's ratio under one measure, prefixed by the condition's name."""
    group = _group(results, condition)
    ratio = (group.get("ratio_by_measure") or {}).get(_measure(results, measure)) or group.get("ratio")
    prefix = "" if condition in (None, "baseline") else f"{condition}{separator}"
    return prefix + summary_line(results, ratio)


@dataclass(frozen=True)
class Curve:
    """One run's training error per epoch under one measure: what both backends draw for it."""

    activation: str
    seed: int
    lr: float
    epochs: list[int]
    errors: list[float | None]  # None: not measured (matplotlib draws it at 1.0, plotly leaves a gap)
    reached: int | None  # first epoch at or below the target under this measure, None if never
    stopped: str | None  # why the run ended: "target", "max_epochs", "beaten", "stalled", "diverged", "interrupted"

    @property
    def drawn_errors(self) -> list[float]:
        """The errors with an unmeasured epoch at 1.0, for a backend that cannot leave a gap."""
        return [1.0 if e is None else e for e in self.errors]


def _curve(run: dict, measure: str) -> Curve:
    errors = run.get(f"{measure}_error") or run["train_error"]
    return Curve(run["activation"], run["seed"], run["lr"], list(run.get("epochs") or range(1, len(errors) + 1)),
                 list(errors), (run.get("epochs_to_25") or {}).get(measure), run.get("stopped"))


def figure1_curves(results: dict, measure: str | None = None, condition: str | None = None) -> tuple[str, list[Curve]]:
    """(the measure drawn, one Curve per run of the baseline or of ``condition``); checks ``results`` first.

    ``measure`` is "running" or "post_epoch" (default: the one the results decided by).
    """
    validate_results(results)
    m = _measure(results, measure)
    return m, [_curve(r, m) for r in _group(results, condition)["runs"]]


# --- figures ------------------------------------------------------------------------------------------------
# matplotlib and plotly are imported where they draw: the command line needs only the one, the dashboard
# mostly the other.


def matplotlib_figure(results: dict, measure: str | None = None, condition: str | None = None, ax: Any = None) -> Any:
    """Figure 1 in the paper's style: training error rate per epoch, solid ReLU, dashed tanh, the 25% line.

    ``measure`` and ``condition`` as for ``plotly_figure``. With ``ax`` it draws there (and returns its figure).
    """
    from matplotlib.figure import Figure

    m, curves = figure1_curves(results, measure, condition)
    if ax is None:
        fig = Figure(figsize=(5.5, 4.2), dpi=120)
        ax = fig.add_subplot(1, 1, 1)
    seen = set()
    top = 0.75
    for c in curves:
        _, ls, color, label = _STYLE[c.activation]
        ys = c.drawn_errors
        top = max(top, min(0.9, max(ys or [0])))
        # Measured points only (epoch 1 onwards), as in the paper's plot.
        ax.plot(c.epochs, ys, ls, color=color, lw=1.4,
                label=None if c.activation in seen else f"{label} (lr {c.lr:g})")
        seen.add(c.activation)
    target = results["config"].get("target_error", 0.25)
    ax.axhline(target, color="0.3", lw=0.8, ls=":")
    ax.set_xlabel("Epochs")
    ax.set_ylabel(f"Training error rate ({measure_label(results, m, short=True)})")
    ax.set_ylim(0, top + 0.02)
    ax.set_xlim(left=0)
    if seen:
        ax.legend(frameon=False)
    ax.set_title(_title(results, m, condition, "\n"), fontsize=9)
    ax.figure.tight_layout()
    return ax.figure


def plotly_figure(results: dict | list[dict], measure: str | None = None, condition: str | None = None) -> Any:
    """Training error vs epoch (solid ReLU, dashed tanh, the 25% line); a list of results overlays several runs.

    ``measure`` picks "running" or "post_epoch" (default: the one the results decided by);
    ``condition`` shows a studied condition's runs instead of the baseline's.
    """
    import plotly.graph_objects as go

    many = results if isinstance(results, list) else [results]
    fig = go.Figure()
    # ReLU and tanh keep their colours in an overlay; the marker tells the runs apart.
    symbols = ["circle", "square", "diamond", "triangle-up", "x", "star"]
    target = 0.25
    for k, res in enumerate(many):
        m, curves = figure1_curves(res, measure, condition)
        target = res["config"].get("target_error", target)
        tag = f"run {k + 1}: " if len(many) > 1 else ""
        for c in curves:
            dash, _, color, label = _STYLE[c.activation]
            fig.add_trace(go.Scatter(
                x=c.epochs, y=c.errors, mode="lines+markers",
                marker={"size": 7 if len(many) > 1 else 5, "symbol": symbols[k % len(symbols)]},
                line={"dash": dash, "color": color, "width": 2},
                name=f"{tag}{label} seed {c.seed} (lr {c.lr:g}, "
                + (f"25% at epoch {c.reached})" if c.reached else
                   f"not at 25% in {len(c.errors)} epochs, {c.stopped})"),
                legendgroup=f"{k}-{c.activation}",
            ))
    fig.add_hline(y=target, line={"dash": "dot", "color": "gray"}, annotation_text=f"{target:.0%}",
                  annotation_font_size=14)
    title = _title(many[0], measure, condition, ": ") if len(many) == 1 else "Figure 1: ReLU (solid) vs tanh (dashed)"
    ytitle = "Training error rate" + ("" if len(many) > 1 else
                                      f" ({measure_label(many[0], _measure(many[0], measure), short=True)})")
    fig.update_layout(title=title, xaxis_title="Epochs", yaxis_title=ytitle,
                      yaxis={"range": [0, 0.92]}, template="plotly_white", font={"size": 14},
                      title_font_size=16, legend={"font": {"size": 13}})
    return fig


def measures_figure(results: dict, condition: str | None = None) -> Any:
    """Two Figure-1 panels side by side: the running error and the post-epoch pass (over a subset by default)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), dpi=110)
    for i, m in enumerate(MEASURES):
        matplotlib_figure(results, m, condition, ax=fig.add_subplot(1, len(MEASURES), i + 1))
    return fig


def conditions_figure(results: dict, measure: str | None = None) -> Any:
    """Matplotlib: the baseline's curves plus every studied condition's own runs (what moves the ratio)."""
    from matplotlib.figure import Figure

    validate_results(results)
    m = measure or results["error_measure"].get("decision", "running")
    fig = Figure(figsize=(6.5, 4.4), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    palette = ["#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#b7950b"]
    groups = [("baseline", results["runs"], None)] + [
        (c["name"], c["runs"], palette[i % len(palette)]) for i, c in enumerate(results.get("conditions", []))
    ]
    base_keys = {(r["activation"], r["lr"], r["seed"]) for r in results["runs"]}
    labelled = set()
    for name, runs, color in groups:
        for c in (_curve(r, m) for r in runs):
            if color is not None and (c.activation, c.lr, c.seed) in base_keys:
                continue  # a condition's run shared with the baseline is drawn once, as the baseline
            _, ls, base_color, label = _STYLE[c.activation]
            key = (name, c.activation)
            text = f"{label} lr {c.lr:g} ({name}), " + (
                f"25% at epoch {c.reached}" if c.reached else f"not at 25% in {len(c.errors)} epochs ({c.stopped})")
            ax.plot(c.epochs, c.drawn_errors, ls, color=color or base_color, lw=1.3,
                    label=None if key in labelled else text)
            labelled.add(key)
    ax.axhline(results["config"].get("target_error", 0.25), color="0.3", lw=0.8, ls=":")
    ax.set_xlabel("Epochs")
    ax.set_ylabel(f"Training error rate ({measure_label(results, m, short=True)})")
    ax.set_ylim(0, 0.8)
    ax.set_xlim(left=0)
    if labelled:
        ax.legend(frameon=False, fontsize=8)
    ax.set_title("Conditions: what moves the tanh/ReLU ratio", fontsize=9)
    fig.tight_layout()
    return fig


def _save_png(fig: Any, path: Path) -> Path:
    # Written beside the target, then renamed: a dashboard never shows half a PNG.
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    os.replace(tmp, path)
    return path


def write_figures(results: dict, folder: str | os.PathLike) -> dict[str, Path]:
    """Into ``folder``: figure1.png (matplotlib, paper style), figure1_<condition>.png (both error measures)
    for the baseline and each studied condition, conditions.png (all conditions in one plot), and why.png
    (ratio per condition, tanh saturation, conv1 weight std) where the runs carry the mechanism record."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {"png": _save_png(matplotlib_figure(results), folder / "figure1.png")}
    for name in ["baseline"] + [c["name"] for c in results.get("conditions", [])]:
        out[f"figure1_{name}"] = _save_png(measures_figure(results, name), folder / f"figure1_{name}.png")
    if results.get("conditions"):
        out["conditions_png"] = _save_png(conditions_figure(results), folder / "conditions.png")
    from explorer.figure1_why import why_figure, why_mechanism_curves  # it builds on this module

    if why_mechanism_curves(results):
        out["why_png"] = _save_png(why_figure(results), folder / "why.png")
    return out
