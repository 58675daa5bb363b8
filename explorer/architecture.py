"""Layer tables for each model variant, and how the paper, torchvision and a popular write-up differ.

Everything that can be measured is measured from instantiated models: layer
tables come from ``alexnet.summary.layer_summary`` (shapes from a forward pass,
parameters from the modules, multiply-adds from layer shapes) and the
comparison's paper/torchvision columns from ``measure_model``. Only the
popular write-up's column is quoted text, because its code is not part of
this project; its claims are taken from ../shared/PAPER.md ("The popular
write-up that started this project gets these wrong").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from alexnet.lrn import LocalResponseNorm
from alexnet.model import AlexNet
from alexnet.summary import LayerRow, layer_summary


@dataclass(frozen=True)
class Variant:
    """A model the Architecture page can tabulate."""

    label: str
    build: Callable[[], nn.Module]  # built without any pretrained weights
    input_size: int  # the input side the variant is defined for
    note: str


def _torchvision_alexnet() -> nn.Module:
    from torchvision.models import alexnet

    return alexnet(weights=None)


VARIANTS: dict[str, Variant] = {
    v.label: v
    for v in (
        Variant("paper, one tower", lambda: AlexNet(towers=1), 227,
                "The paper's layers on one device (groups=1 everywhere)."),
        Variant("paper, two towers", lambda: AlexNet(towers=2), 227,
                "The paper's two-GPU connectivity: conv2, conv4, conv5 see only their own tower."),
        Variant("paper, one tower, no LRN", lambda: AlexNet(towers=1, lrn=False), 227,
                "Ablation: LRN removed (the paper reports +1.4% top-1 error without it)."),
        Variant("paper, two towers, no LRN", lambda: AlexNet(towers=2, lrn=False), 227,
                "Ablation: two towers, LRN removed."),
        Variant("torchvision AlexNet", _torchvision_alexnet, 224,
                "torchvision's alexnet: the later 'one weird trick' variant (64/192/384/256/256 kernels)."),
    )
}
PAPER_VARIANT = "paper, one tower"
PAPER_TWO_TOWER_VARIANT = "paper, two towers"
TORCHVISION_VARIANT = "torchvision AlexNet"


def build_variant(label: str) -> nn.Module:
    """A fresh model of the variant in eval mode, with its own initialisation (seeded, so repeatable)."""
    if label not in VARIANTS:
        raise KeyError(f"unknown model variant {label!r}; known: {', '.join(VARIANTS)}")
    torch.manual_seed(0)
    return VARIANTS[label].build().eval()


@lru_cache(maxsize=len(VARIANTS))
def analyse_variant(label: str) -> tuple[tuple[LayerRow, ...], dict[str, Any]]:
    """``layer_summary`` rows and ``measure_model`` facts of the variant, at its own input size.

    Cached per process; the model itself (about 250 MB of weights) is dropped
    once measured, so only the small results stay in memory.
    """
    model = build_variant(label)
    size = VARIANTS[label].input_size
    rows = tuple(layer_summary(model, (3, size, size)))
    return rows, measure_model(model, size, rows=list(rows))


def variant_summary(label: str) -> list[LayerRow]:
    return list(analyse_variant(label)[0])


def _short_name(qualified: str, module_kind: str, index: dict[str, int]) -> str:
    """``features.conv1`` -> ``conv1``; torchvision's ``features.0`` -> ``conv1`` (by kind and order)."""
    last = qualified.rsplit(".", 1)[-1]
    if not last.isdigit():
        return last
    short = {"Conv2d": "conv", "Linear": "fc", "ReLU": "relu", "MaxPool2d": "pool", "Dropout": "drop",
             "AdaptiveAvgPool2d": "avgpool", "Flatten": "flatten"}.get(module_kind, module_kind.lower())
    index[short] = index.get(short, 0) + 1
    if short == "fc":
        return f"fc{index[short] + 5}"  # AlexNet numbers its fully connected layers 6, 7, 8
    return f"{short}{index[short]}"


def layer_table(rows: list[LayerRow]) -> list[dict[str, Any]]:
    """Display/CSV rows: layer, qualified name, type, output shape, params, mult-adds."""
    index: dict[str, int] = {}
    return [
        {
            "layer": _short_name(r.name, r.kind, index),
            "module": r.name,
            "type": r.kind,
            "output": "x".join(str(d) for d in r.output_shape),
            "params": r.params,
            "mult_adds": r.mult_adds,
        }
        for r in rows
    ]


def weight_layers(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows that carry weights (conv and fc): the ones worth a bar in the chart."""
    return [row for row in table if row["params"] > 0 or row["mult_adds"] > 0]


def totals(rows: list[LayerRow]) -> dict[str, int]:
    return {"params": sum(r.params for r in rows), "mult_adds": sum(r.mult_adds for r in rows)}


def _linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _layers_in_order(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if not list(m.children())]


def measure_model(model: nn.Module, input_size: int, rows: list[LayerRow] | None = None) -> dict[str, Any]:
    """Facts read off an instantiated model (no weights loaded: initialisation as built)."""
    leaves = _layers_in_order(model)
    convs = [m for m in leaves if isinstance(m, nn.Conv2d)]
    linears = _linear_layers(model)
    fc_names = [f"fc{i + 6}" for i in range(len(linears))]

    # Where each LRN and dropout sits: after which conv / before which fc layer.
    lrn_after, dropout_before = [], []
    conv_seen, fc_seen = 0, 0
    for m in leaves:
        if isinstance(m, nn.Conv2d):
            conv_seen += 1
        elif isinstance(m, nn.Linear):
            fc_seen += 1
        elif isinstance(m, (LocalResponseNorm, nn.LocalResponseNorm)):
            lrn_after.append(f"conv{conv_seen}")
        elif isinstance(m, nn.Dropout) and m.p > 0 and fc_seen < len(fc_names):
            dropout_before.append(fc_names[fc_seen])
    lrn_modules = [m for m in leaves if isinstance(m, LocalResponseNorm)]

    if rows is None:
        rows = layer_summary(model, (3, input_size, input_size))
    conv1_out = next(r.output_shape for r in rows if r.kind == "Conv2d")
    features_out = next(r.output_shape for r in reversed(rows) if len(r.output_shape) == 3)
    return {
        "input": f"3x{input_size}x{input_size}",
        "conv_kernels": [m.out_channels for m in convs],
        "conv1_geometry": "{k}x{k} / stride {s} / pad {p}".format(
            k=convs[0].kernel_size[0], s=convs[0].stride[0], p=convs[0].padding[0]),
        "conv1_output": "x".join(map(str, conv1_out)),
        "conv_stack_output": "x".join(map(str, features_out)),
        "grouped_convs": [f"conv{i + 1}" for i, m in enumerate(convs) if m.groups > 1],
        "lrn_after": lrn_after,
        "lrn_effective_alpha": sorted({m.effective_alpha for m in lrn_modules}),
        "dropout_before": dropout_before,
        "params": sum(p.numel() for p in model.parameters()),
        "mult_adds": sum(r.mult_adds for r in rows),
        "weight_std": {
            name: float(m.weight.detach().std()) for name, m in (("conv1", convs[0]), ("fc6", linears[0]))
        },
        "bias_values": _bias_summary(
            [(f"conv{i + 1}", c.bias) for i, c in enumerate(convs)]
            + [(name, m.bias) for name, m in zip(fc_names, linears, strict=True)]
        ),
    }


def _bias_summary(named_biases: list[tuple[str, torch.Tensor | None]]) -> str:
    """E.g. "1: conv2, conv4; 0: conv1, conv3; random: fc8", grouping layers by their initial bias."""
    groups: dict[str, list[str]] = {}
    for name, bias in named_biases:
        if bias is None:
            key = "none"
        else:
            lo, hi = float(bias.detach().min()), float(bias.detach().max())
            key = f"{lo:g}" if lo == hi else "random (PyTorch default)"
        groups.setdefault(key, []).append(name)
    return "; ".join(f"{key}: {', '.join(names)}" for key, names in groups.items())


@dataclass(frozen=True)
class Difference:
    """One point of comparison; ``measure`` names a ``measure_model`` key where it is measurable."""

    topic: str
    writeup: str  # what the popular write-up's code does (quoted from PAPER.md), or NOT_RECORDED
    measure: str | None = None  # key into measure_model's dict
    paper_text: str = ""  # used only when measure is None
    torchvision_text: str = ""  # used only when measure is None
    why: str = ""


# The write-up's column records only what PAPER.md lists as its differences from the paper.
NOT_RECORDED = "—"  # an em dash: a bare "-" would read as a Markdown bullet in st.table

DIFFERENCES: tuple[Difference, ...] = (
    Difference("input size", NOT_RECORDED, "input",
               why="227 is the size at which conv1 (11x11, stride 4, no padding) gives the paper's 55x55."),
    Difference("conv1 geometry", NOT_RECORDED, "conv1_geometry",
               why="torchvision pads conv1 by 2 so that 224 also gives 55x55."),
    Difference("conv1 output", NOT_RECORDED, "conv1_output"),
    Difference("kernels per conv layer", NOT_RECORDED, "conv_kernels",
               why="torchvision follows 'One weird trick' (Krizhevsky 2014), not the 2012 paper."),
    Difference("towers (grouped convolutions)", NOT_RECORDED, "grouped_convs",
               why="the paper's two GPUs: conv2, conv4, conv5 see only their own tower's maps."),
    Difference("LRN after", NOT_RECORDED, "lrn_after"),
    Difference("LRN alpha (effective, multiplies the window's sum of squares)",
               "alpha=1e-5 in its code (its own text says 1e-4; the paper 1e-4)", "lrn_effective_alpha",
               why="this project uses the paper's alpha=1e-4 with cuda-convnet's alpha/n (2e-5)."),
    Difference("dropout on the input of", "before fc6 (on the pooled conv features)", "dropout_before",
               why="the paper: dropout on the outputs of fc6 and fc7, i.e. the inputs of fc7 and fc8."),
    Difference("conv stack output (input of fc6)", NOT_RECORDED, "conv_stack_output"),
    Difference("weight std at initialisation", "std 0.001", "weight_std",
               why="paper: N(0, 0.01) for every weight; torchvision keeps PyTorch's default init."),
    Difference("biases at initialisation",
               "fc8 bias 1; picks biases by in_channels==256, calling conv3 'Conv2'", "bias_values",
               why="paper: 1 in conv2, conv4, conv5, fc6, fc7; 0 in conv1, conv3, fc8."),
    Difference("parameters (1000 classes)", NOT_RECORDED, "params"),
    Difference("multiply-adds per image", NOT_RECORDED, "mult_adds"),
    Difference("test-time input", NOT_RECORDED, None,
               paper_text="10 crops (4 corners + centre, and mirrors), softmax averaged",
               torchvision_text="one 224 centre crop (its published acc@1 56.522 / acc@5 79.066)"),
)


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_format(v) for v in value) if value else "none"
    return str(value)


def comparison_rows(
    paper: dict[str, Any], torchvision: dict[str, Any], paper_two_towers: dict[str, Any] | None = None
) -> list[dict[str, str]]:
    """One row per Difference: measured paper/torchvision values (formatted) and the write-up's text."""
    rows = []
    for d in DIFFERENCES:
        if d.measure is None:
            paper_value, tv_value = d.paper_text, d.torchvision_text
        else:
            paper_value, tv_value = _format(paper[d.measure]), _format(torchvision[d.measure])
            if paper_two_towers is not None:
                towers_value = _format(paper_two_towers[d.measure])
                if towers_value != paper_value:  # compared as shown, so float noise is no difference
                    paper_value += f" (two towers: {towers_value})"
        rows.append({
            "topic": d.topic,
            "paper (this project)": paper_value,
            "torchvision": tv_value,
            "popular write-up's code": d.writeup,
            "measured": "yes" if d.measure else "no (documented)",
            "note": d.why,
        })
    return rows


def measured_comparison() -> list[dict[str, str]]:
    """The comparison table with the paper (one and two towers) and torchvision measured now."""
    labels = (PAPER_VARIANT, PAPER_TWO_TOWER_VARIANT, TORCHVISION_VARIANT)
    paper, towers, tv = (analyse_variant(label)[1] for label in labels)
    return comparison_rows(paper, tv, towers)


def _bar_data(table: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, str, list[int], list[float]]]]:
    """Layer names and one panel per count: (series name, panel title, exact counts, millions)."""
    rows = weight_layers(table)
    panels = [
        (label, f"{label}{per} (millions)", counts, [c / 1e6 for c in counts])
        for label, per, counts in (
            ("parameters", "", [r["params"] for r in rows]),
            ("multiply-adds", " per image", [r["mult_adds"] for r in rows]),
        )
    ]
    return [r["layer"] for r in rows], panels


def bars_figure(table: list[dict[str, Any]], title: str = ""):
    """plotly: parameters and multiply-adds per weight layer, side by side (millions)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names, panels = _bar_data(table)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[panel_title for _, panel_title, _, _ in panels])
    for i, (label, _, counts, millions) in enumerate(panels):
        fig.add_trace(go.Bar(x=names, y=millions, name=label, customdata=counts,
                             hovertemplate=f"%{{x}}: %{{customdata:,}} {label}<extra></extra>"), 1, i + 1)
    fig.update_layout(title=title or None, showlegend=False, height=360, margin={"t": 60, "b": 30})
    return fig


def bars_matplotlib(table: list[dict[str, Any]], title: str = ""):
    """The same bars as ``bars_figure`` as a matplotlib Figure (for PNG downloads)."""
    from matplotlib.figure import Figure

    names, panels = _bar_data(table)
    fig = Figure(figsize=(9, 3.4), dpi=110)
    for i, ((_, panel_title, _, millions), colour) in enumerate(zip(panels, ("#1f4e9c", "#c0392b"), strict=True)):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.bar(names, millions, color=colour)
        ax.set_title(panel_title, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def overview_row(label: str, table: list[dict[str, Any]], total: dict[str, int]) -> dict[str, Any]:
    """One line per variant for the side-by-side table: input, kernels per conv layer, LRN count, totals."""
    convs = [r for r in table if r["type"] == "Conv2d"]
    size = VARIANTS[label].input_size if label in VARIANTS else None
    return {
        "variant": label,
        "input": f"3x{size}x{size}" if size else "",
        "conv kernels": " / ".join(r["output"].split("x")[0] for r in convs),
        "LRN layers": sum(1 for r in table if r["type"] == "LocalResponseNorm"),
        "params": total["params"],
        "mult_adds": total["mult_adds"],
    }
