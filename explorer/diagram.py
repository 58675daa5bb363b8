"""The network drawn as the paper's Figure 2, from the model itself: one box per weight layer, two towers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from alexnet.summary import layer_summary

__all__ = ["Block", "diagram_blocks", "diagram_figure"]

# What the layers between two weight layers are called in the diagram's notes.
_OPS = {"ReLU": "ReLU", "Tanh": "tanh", "LocalResponseNorm": "LRN", "MaxPool2d": "max pool", "AvgPool2d": "avg pool",
        "Dropout": "dropout", "AdaptiveAvgPool2d": "adaptive pool"}


@dataclass(frozen=True)
class Block:
    """One box of the diagram: a weight layer (or the input), its output shape and what follows it."""

    name: str  # "input", "conv1" ... "fc8"
    kind: str  # "input", "conv" or "fc"
    shape: tuple[int, ...]  # the layer's own output (C, H, W) or (N,)
    towers: int  # 2: the layer is split over the paper's two GPUs (half its kernels or units on each)
    own_tower_only: bool  # a grouped conv: each half sees only its own tower's maps (no cross arrows)
    kernel: str  # "11x11 / 4" for a conv, "" otherwise
    after: tuple[str, ...]  # the layers between this one and the next weight layer, e.g. ("ReLU", "LRN", "max pool")
    out_shape: tuple[int, ...]  # the shape the next weight layer receives

    def shape_text(self, per_tower: bool = True) -> str:
        """E.g. "48x55x55" (one tower's half) or "96x55x55"."""
        dims = list(self.shape)
        if per_tower and self.towers == 2 and self.kind != "input":
            dims[0] //= 2
        return "x".join(str(d) for d in dims)


def _module(model: nn.Module, name: str) -> nn.Module | None:
    return dict(model.named_modules()).get(name)


def diagram_blocks(model: nn.Module, input_size: int = 227, towers: int | None = None) -> list[Block]:
    """The input and every conv and linear layer in order, with shapes from a forward pass (``layer_summary``).

    ``towers`` defaults to the model's ``config.towers`` (1 when it has none, as torchvision's AlexNet).
    """
    if towers is None:
        towers = int(getattr(getattr(model, "config", None), "towers", 1))
    rows = layer_summary(model, (3, input_size, input_size))
    blocks: list[dict[str, Any]] = [dict(name="input", kind="input", shape=(3, input_size, input_size), towers=1,
                                         own_tower_only=False, kernel="", after=[],
                                         out_shape=(3, input_size, input_size))]
    counts = {"conv": 0, "fc": 0}
    for row in rows:
        module = _module(model, row.name)
        if isinstance(module, nn.Conv2d | nn.Linear):
            kind = "conv" if isinstance(module, nn.Conv2d) else "fc"
            counts[kind] += 1
            name = f"conv{counts[kind]}" if kind == "conv" else f"fc{counts[kind] + 5}"
            kernel = ""
            if isinstance(module, nn.Conv2d):
                k, s = module.kernel_size[0], module.stride[0]
                kernel = f"{k}x{k}" + (f" / {s}" if s > 1 else "")
            blocks.append(dict(name=name, kind=kind, shape=tuple(row.output_shape), towers=towers,
                               own_tower_only=isinstance(module, nn.Conv2d) and module.groups > 1, kernel=kernel,
                               after=[], out_shape=tuple(row.output_shape)))
        elif row.kind in _OPS and row.kind != "Dropout" or row.kind == "Dropout" and getattr(module, "p", 0) > 0:
            blocks[-1]["after"].append(_OPS[row.kind])
            blocks[-1]["out_shape"] = tuple(row.output_shape)
        elif row.kind != "Flatten":  # the note shows the maps (256x6x6), not their flattened vector
            blocks[-1]["out_shape"] = tuple(row.output_shape)
    if blocks[-1]["kind"] == "fc":
        blocks[-1]["towers"] = 1  # the output layer is one softmax over both towers (the paper's 1000 units)
    return [Block(**{**b, "after": tuple(b["after"])}) for b in blocks]


def diagram_figure(blocks: list[Block], title: str = "") -> Any:
    """Matplotlib: the blocks left to right, each split into its towers (top: tower 1), arrows as connected.

    A box's height follows its spatial size (conv) and is fixed for the fc layers; grouped convs get arrows
    within their tower only, the others from both towers (the paper's Figure 2).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    two = any(b.towers == 2 for b in blocks)
    fig = Figure(figsize=(12, 4.0 if two else 2.7), dpi=100)
    ax = fig.add_axes((0, 0, 1, 0.9 if title else 1))
    ax.set_xlim(-0.25, len(blocks) * 1.6 - 0.35)
    ax.set_ylim(-2.1 if two else -1.4, 1.55 if two else 1.0)
    ax.axis("off")
    colours = {"input": "#d5d8dc", "conv": "#aed6f1", "fc": "#f5cba7"}
    biggest = max(b.shape[1] for b in blocks if len(b.shape) == 3)

    def height(b: Block) -> float:
        if len(b.shape) == 3:
            return 0.35 + 0.75 * b.shape[1] / biggest
        return 0.6

    def boxes_of(i: int, b: Block) -> list[tuple[float, float, float]]:
        """(x centre, y centre, half height) of each tower's box of block i."""
        x, h = i * 1.6 + 0.4, height(b)
        if b.towers == 2:
            return [(x, 0.2 + h / 2 + 0.05, h / 2), (x, -0.2 - h / 2 - 0.05, h / 2)]
        return [(x, 0.0, h / 2 if not two else h)]

    placed = [boxes_of(i, b) for i, b in enumerate(blocks)]
    for i, (b, boxes) in enumerate(zip(blocks, placed, strict=True)):
        for x, y, hh in boxes:
            ax.add_patch(FancyBboxPatch((x - 0.6, y - hh), 1.2, 2 * hh, boxstyle="round,pad=0.02",
                                        facecolor=colours[b.kind], edgecolor="#34495e", lw=1))
            ax.text(x, y + 0.12 if 2 * hh > 0.5 else y + 0.08, b.name, ha="center", va="center", fontsize=13,
                    weight="bold")
            ax.text(x, y - 0.14 if 2 * hh > 0.5 else y - 0.12, b.shape_text(), ha="center", va="center",
                    fontsize=10.5)
        bottom = min(y - hh for _, y, hh in boxes)
        notes = [b.kernel] if b.kernel else []
        if b.after:
            notes += [", ".join(b.after[j:j + 2]) for j in range(0, len(b.after), 2)]
        if b.out_shape != b.shape and len(b.out_shape) == 3:
            notes.append("-> " + "x".join(map(str, b.out_shape)))
        ax.text(boxes[0][0], bottom - 0.12, "\n".join(notes), ha="center", va="top", fontsize=10.5, color="#333333")
        if i == 0:
            continue
        for s, (px, py, _) in enumerate(placed[i - 1]):
            for t, (x, y, _) in enumerate(boxes):
                within = len(placed[i - 1]) == 1 or len(boxes) == 1 or s == t
                if not within and b.own_tower_only:
                    continue
                ax.add_patch(FancyArrowPatch((px + 0.62, py), (x - 0.62, y), arrowstyle="-|>", mutation_scale=10,
                                             color="#1f4e9c" if within else "#c0392b", lw=1.1,
                                             alpha=1.0 if within else 0.7))
    if two:
        ax.text(-0.15, 1.4, "tower 1 (GPU 1): the top row", fontsize=11, color="#555555")
        ax.text(-0.15, -2.05, "tower 2 (GPU 2): the bottom row; red arrows cross between the towers", fontsize=11,
                color="#555555")
    if title:
        fig.suptitle(title, fontsize=13)
    return fig
