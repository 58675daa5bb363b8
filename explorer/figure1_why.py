"""Why tanh is slow (Figure 1): tanh/ReLU ratio per condition, tanh saturation and weight std per epoch, a sentence.

Reads the why-study's results.json (``alexnet relu-tanh --why``: each activation at its fastest rate of a
small grid trained in full, under the current recipe and under conditions that change the input scale or
the initialisation). Everything is computed here once; plotly (the dashboard) and matplotlib (PNG) only draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from alexnet.relu_tanh.config import CHOICE_ONLY_FIELDS, SATURATED, WHY_CONDITIONS, WHY_FULL_GRID, WHY_SEEDS
from explorer.figure1 import decision_measure, figure1_condition_rows

__all__ = [
    "WHY_COMMAND",
    "MechanismCurve",
    "why_conclusion",
    "why_figure",
    "why_mechanism_curves",
    "why_mechanism_figure",
    "why_mechanism_rows",
    "why_missing",
    "why_ratio_figure",
    "why_ratio_rows",
]

WHY_COMMAND = "alexnet relu-tanh --why --resume"  # resume-safe: rerun it after any stop
PAPER_RATIO = 6.0
LABELS = {"baseline": "current recipe", "unit-variance-input": "unit-variance input", "pytorch-init": "PyTorch init",
          "init-x10": "init x10", "relu-lr-0.001": "ReLU at lr 0.001", "relu-lr-0.01": "ReLU at lr 0.01"}
BASELINE_NOTE = "the current recipe: raw 0-255 pixels minus the mean image, conv1 N(0, 1e-4), the rest N(0, 1e-2)"
_PALETTE = ["#1f4e9c", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f8c8d"]


def _label(name: str) -> str:
    return LABELS.get(name, name)


def _groups(results: dict) -> list[tuple[str, dict]]:
    return [("baseline", results)] + [(c.get("name"), c) for c in results.get("conditions") or []]


# --- the ratio per condition --------------------------------------------------------------------------------


def why_ratio_rows(results: dict) -> list[dict[str, Any]]:
    """One row per condition (the current recipe first) under the deciding measure: ``ratio`` is the mean over
    seeds where both reached 25% (``label`` says how many when more than one; ``ratio_min``/``ratio_max`` their
    range), else a bound: ``bound`` "lower" (tanh stopped above 25%: at least) or "upper" (ReLU stopped above
    25%: at most); None for a measured ratio or none at all."""
    measure = decision_measure(results)
    rows = []
    for row in figure1_condition_rows(results):
        if row["measure"] != measure:
            continue
        if row["ratio_mean"] is not None:
            value, bound = row["ratio_mean"], None
        elif row["ratio_at_least"] is not None:
            value, bound = row["ratio_at_least"], "lower"
        else:
            value, bound = row["ratio_at_most"], None if row["ratio_at_most"] is None else "upper"
        note = BASELINE_NOTE if row["condition"] == "baseline" else row["note"]
        seeds = row["seeds_both_reached"]  # 0 unless both reached 25% in some seed
        label = _label(row["condition"]) + (f" ({seeds} seeds)" if seeds > 1 else "")
        rows.append({"label": label, **row, "note": note, "ratio": value, "bound": bound})
    return rows


def _ratio_text(row: dict) -> str:
    words = {"lower": "more than ", "upper": "less than "}.get(row["bound"], "")
    return f"{words}{row['ratio']:.1f}x"


# --- the mechanism record -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MechanismCurve:
    """One run's mechanism record: saturated share per conv layer (tanh) and weight std per layer, per epoch."""

    condition: str
    activation: str
    seed: int
    lr: float
    epochs: list[int]  # 0 is the init
    saturated: dict[str, list[float | None]]
    weight_std: dict[str, list[float | None]]

    def saturated_after(self, layer: str, epoch: int) -> float | None:
        """The share of ``layer``'s units saturated after ``epoch`` (None if not recorded)."""
        values = self.saturated.get(layer) or []
        i = self.epochs.index(epoch) if epoch in self.epochs else len(values)
        return values[i] if i < len(values) else None


def why_mechanism_curves(results: dict) -> list[MechanismCurve]:
    """Each condition's ReLU and tanh run at its chosen rates that carries a mechanism record (first such seed).

    A condition that only changes which rate is used ("ReLU at lr 0.01": ``overrides`` of choice-only fields)
    trains exactly as the current recipe does, so its run at the current recipe's rate and seed is that same run:
    it is left out rather than drawn again over the first.
    """
    curves = []
    baseline = {(r.get("activation"), r.get("lr"), r.get("seed")) for r in results.get("runs") or []}
    for name, group in _groups(results):
        overrides = set(group.get("overrides") or {}) if name != "baseline" else set()
        same_training = bool(overrides) and overrides <= set(CHOICE_ONLY_FIELDS)
        for act in ("relu", "tanh"):
            run = next((r for r in group.get("runs") or [] if r.get("activation") == act and r.get("mechanism")), None)
            if run is None or same_training and (act, run.get("lr"), run.get("seed")) in baseline:
                continue
            m = run["mechanism"]
            curves.append(MechanismCurve(name, act, run.get("seed", 0), run.get("lr"), list(m.get("epochs") or []),
                                         dict(m.get("saturated") or {}), dict(m.get("weight_std") or {})))
    return curves


def why_mechanism_rows(results: dict) -> list[dict[str, Any]]:
    """One row per (condition, activation, epoch): saturated share per tanh layer and weight std (for CSV)."""
    rows = []
    for c in why_mechanism_curves(results):
        for i, epoch in enumerate(c.epochs):
            row: dict[str, Any] = {"condition": c.condition, "activation": c.activation, "seed": c.seed, "lr": c.lr,
                                   "epoch": epoch}
            row.update({f"saturated_{k}": v[i] if i < len(v) else None for k, v in c.saturated.items()})
            row.update({f"weight_std_{k}": v[i] if i < len(v) else None for k, v in c.weight_std.items()})
            rows.append(row)
    return rows


# --- what is missing, and the sentence ----------------------------------------------------------------------


def _planned(name: str = "") -> str:
    grids = "; ".join(f"{a} at {', '.join(f'{lr:g}' for lr in rates)}" for a, rates in WHY_FULL_GRID)
    more = ", then the chosen rates with seeds " + ", ".join(map(str, WHY_SEEDS[1:])) if name == "baseline" else ""
    return f"{grids} (seed 0, each to 25% or 60 epochs{more})"


def why_missing(results: dict | None) -> list[str]:
    """What the why panel still lacks, one line each; empty when every planned run is there with its record."""
    if results is None:
        return [f"{_label(name)}: {_planned(name)}" for name in ("baseline", *WHY_CONDITIONS)]
    lines = []
    present = {c.get("name") for c in results.get("conditions") or []}
    lines += [f"{_label(name)}: not studied in this file ({_planned()})" for name in WHY_CONDITIONS
              if name not in present]
    for key in list(dict.fromkeys(results.get("missing_units") or [])):
        parts = key.split("|")  # prefix|run|act|seed|lr or prefix|sweep|act|lr
        if len(parts) == 5:
            lines.append(f"{_label(parts[0])}: {parts[2]} at lr {parts[4]} (seed {parts[3]})")
        elif len(parts) == 4:
            lines.append(f"{_label(parts[0])}: {parts[2]} sweep at lr {parts[3]}")
    for name, group in _groups(results):
        tanh_runs = [r for r in group.get("runs") or [] if r.get("activation") == "tanh"]
        if tanh_runs and not any(r.get("mechanism") for r in tanh_runs):
            lines.append(f"{_label(name)}: its tanh run has no saturation record (made before the record existed)")
    return lines


def why_conclusion(results: dict) -> str | None:
    """One sentence drawn from the data: does the ratio survive unit-variance inputs? None until both are there."""
    rows = {r["condition"]: r for r in why_ratio_rows(results)}
    base, unit = rows.get("baseline"), rows.get("unit-variance-input")
    if base is None or unit is None or base["ratio"] is None or unit["ratio"] is None:
        return None
    tanh = {c.condition: c for c in why_mechanism_curves(results) if c.activation == "tanh"}
    sat = [tanh[n].saturated_after("conv1", 1) if n in tanh else None for n in ("baseline", "unit-variance-input")]
    why = (f" (conv1's tanh units saturated after epoch 1: {sat[0]:.0%} against {sat[1]:.0%})"
           if None not in sat else "")
    b, u = base["ratio"], unit["ratio"]
    # The mechanism is named only where the record shows it: far more conv1 saturation under the current recipe.
    saturation_explains = None not in sat and sat[0] - sat[1] >= 0.3
    if unit["bound"] != "lower" and u <= 0.5 * b:
        return (f"With unit-variance inputs and N(0, 0.01) weights tanh needs {_ratio_text(unit)} ReLU's epochs to "
                f"25% instead of {_ratio_text(base)}{why}: the paper's 6x is recipe-dependent"
                + (", a matter of saturated tanh units more than of the activation itself." if saturation_explains
                   else "."))
    if base["bound"] is None and (unit["bound"] == "lower" and u >= 0.75 * b or abs(u - b) <= 0.25 * b):
        return (f"The ratio barely moves with the input scale: {_ratio_text(base)} with the current recipe, "
                f"{_ratio_text(unit)} with unit-variance inputs{why}; tanh's slowness here is not an artefact of "
                "the input scale.")
    return (f"Unit-variance inputs move the ratio from {_ratio_text(base)} to {_ratio_text(unit)}{why}: the input "
            "scale matters, though not enough on its own to call the paper's 6x an artefact of it.")


# --- figures ------------------------------------------------------------------------------------------------


BOUND_KINDS = {None: "both at 25%", "lower": "lower bound: tanh not at 25%", "upper": "upper bound: ReLU not at 25%"}
BOUND_COLOURS = {None: "#1f4e9c", "lower": "#bbbbbb", "upper": "#e8a33d"}  # the PNG's bars (plotly picks its own)


def _bars(rows: list[dict]) -> tuple[list[str], list[float], list[str | None]]:
    shown = [r for r in rows if r["ratio"] is not None]
    return [r["label"] for r in shown], [r["ratio"] for r in shown], [r["bound"] for r in shown]


def _spread(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """Label -> (mean - min, max - mean) over seeds, for the bars that rest on more than one seed."""
    return {r["label"]: (r["ratio"] - r["ratio_min"], r["ratio_max"] - r["ratio"]) for r in rows
            if r["seeds_both_reached"] > 1}


def why_ratio_figure(rows: list[dict]) -> Any:
    """Plotly bars: tanh/ReLU epochs to 25% per condition (lower bounds marked), and the paper's 6x."""
    from explorer.figures import bar_chart

    x, y, bounds = _bars(rows)
    fig = bar_chart(x, {"tanh / ReLU": y}, colour=[BOUND_KINDS[b] for b in bounds],
                    title="tanh / ReLU epochs to 25% per condition",
                    ylabel="ratio (x)")
    spread = _spread(rows)
    for trace in fig.data:  # whiskers from the smallest to the largest seed's ratio, on the bar they belong to
        if any(label in spread for label in trace.x):  # no caps (width 0): plotly draws them on a bar with no range
            trace.error_y = {"type": "data", "symmetric": False, "color": "#333333", "width": 0, "thickness": 2.5,
                             "arrayminus": [spread[label][0] if label in spread else 0.0 for label in trace.x],
                             "array": [spread[label][1] if label in spread else 0.0 for label in trace.x]}
    fig.add_hline(y=PAPER_RATIO, line={"dash": "dot", "color": "gray"}, annotation_text="paper: 6x",
                  annotation_font_size=14)
    # The legend under the rotated condition names: at the top it ran into the title in a narrow column.
    fig.update_layout(font={"size": 14}, height=440, legend={"font": {"size": 13}, "orientation": "h",
                                                             "yanchor": "top", "y": -0.45, "xanchor": "left", "x": 0})
    return fig


def _layers(curves: list[MechanismCurve]) -> list[str]:
    return list(dict.fromkeys(k for c in curves if c.activation == "tanh" for k in c.saturated))


def _colours(curves: list[MechanismCurve]) -> dict[str, str]:
    names = list(dict.fromkeys(c.condition for c in curves))
    return {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(names)}


def why_mechanism_figure(curves: list[MechanismCurve]) -> Any:
    """Plotly: share of saturated tanh units per conv layer per epoch, and conv1's weight std (ReLU dotted)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    layers = _layers(curves)
    # Short titles (the four panels share a narrow column); the page's caption says what "saturated" means.
    titles = [f"{k} saturated" for k in layers] + ["conv1 weight std"]
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles)
    colours = _colours(curves)
    for c in curves:
        name = f"{_label(c.condition)} (tanh lr {c.lr:g})" if c.activation == "tanh" else None
        for col, layer in enumerate(layers, start=1):
            if c.activation == "tanh" and layer in c.saturated:
                fig.add_trace(go.Scatter(x=c.epochs, y=c.saturated[layer], mode="lines", name=name,
                                         legendgroup=c.condition, showlegend=col == 1,
                                         line={"color": colours[c.condition]}), row=1, col=col)
        fig.add_trace(go.Scatter(x=c.epochs, y=c.weight_std.get("conv1"), mode="lines",
                                 name=f"{_label(c.condition)} ({c.activation})", legendgroup=c.condition,
                                 showlegend=c.activation == "relu",
                                 line={"color": colours[c.condition], "dash": "dot" if c.activation == "relu"
                                       else "solid"}), row=1, col=len(titles))
    for col in range(1, len(layers) + 1):
        fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=col)
    fig.update_yaxes(type="log", row=1, col=len(titles))
    fig.update_xaxes(title_text="epoch (0: init)")
    fig.update_annotations(font_size=14)  # the subplot titles
    fig.update_layout(template="plotly_white", height=440, font={"size": 14},
                      legend={"font": {"size": 13}, "orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def why_figure(results: dict) -> Any:
    """Matplotlib (PNG): the ratio per condition, conv1 saturation per epoch, conv1 weight std per epoch."""
    from matplotlib.figure import Figure

    rows, curves = why_ratio_rows(results), why_mechanism_curves(results)
    fig = Figure(figsize=(13, 4), dpi=110)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    x, y, bounds = _bars(rows)
    ax1.bar(range(len(x)), y, color=[BOUND_COLOURS[b] for b in bounds])
    spread = _spread(rows)
    ranged = [i for i, label in enumerate(x) if label in spread]  # only these get whiskers (no caps on the rest)
    if ranged:
        ax1.errorbar(ranged, [y[i] for i in ranged], yerr=[[spread[x[i]][k] for i in ranged] for k in (0, 1)],
                     fmt="none", ecolor="0.2", capsize=3)
    marks = {None: "", "lower": " (>)", "upper": " (<)"}
    ax1.set_xticks(range(len(x)), [f"{lab}{marks[b]}" for lab, b in zip(x, bounds, strict=True)], rotation=20,
                   ha="right", fontsize=8)
    ax1.axhline(PAPER_RATIO, color="0.4", ls=":", lw=0.8)
    ax1.set_ylabel("tanh / ReLU epochs to 25%")
    ax1.set_title("ratio per condition (grey: at least; orange: at most; whiskers: seeds' range)", fontsize=9)
    colours = _colours(curves)
    for c in curves:
        if c.activation == "tanh" and "conv1" in c.saturated:
            ax2.plot(c.epochs, [math.nan if v is None else v for v in c.saturated["conv1"]],
                     color=colours[c.condition], label=f"{_label(c.condition)} (lr {c.lr:g})")
        ax3.plot(c.epochs, [math.nan if v is None else v for v in c.weight_std.get("conv1", [])],
                 color=colours[c.condition], ls="-" if c.activation == "tanh" else ":",
                 label=f"{_label(c.condition)} {c.activation}")
    ax2.set_ylim(0, 1)
    ax2.set_title(f"conv1: share of tanh units with |tanh| > {SATURATED:g}", fontsize=9)
    ax3.set_yscale("log")
    ax3.set_title("conv1 weight std (dotted: ReLU)", fontsize=9)
    for ax in (ax2, ax3):
        ax.set_xlabel("epoch (0: init)")
        if ax.lines:
            ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig

