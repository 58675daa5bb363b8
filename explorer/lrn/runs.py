"""Running a model with LRN set to the user's parameters or removed, and comparing the two runs."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from explorer.activations import LOGITS, capture_activations, feature_stages
from explorer.lrn.measures import LRNParams, lrn_effect, winner_change_share, winner_map


def lrn_layer_count(model: nn.Module) -> int:
    """How many LRN layers the model itself has (0 for torchvision's AlexNet or the no-LRN ablation)."""
    return sum(stage.kind == "lrn" for stage in feature_stages(model))


def run_features(
    model: nn.Module,
    x: Tensor,
    params: LRNParams | None,
    lrn_after: tuple[int, ...] = (1, 2),
    with_logits: bool = False,
) -> dict[str, Tensor]:
    """Run ``model`` on ``x`` with LRN set to ``params`` (or removed when None), recording activations.

    The model's own LRN layers are bypassed; instead LRN with ``params`` is
    applied after the activation (ReLU/tanh) of each conv layer numbered in
    ``lrn_after`` (the paper: conv1 and conv2). This also asks what LRN would do
    to a model built without it (torchvision's AlexNet, the no-LRN ablation).

    The swap is done by ``capture_activations``'s ``replace`` during one call of
    the model's own forward, so any input conversion a wrapper does (the
    dashboard's torchvision wrapper) still happens. Its hooks are gone before
    this returns, and its model lock keeps other sessions sharing the model from
    running it meanwhile; weights are never touched.

    Returns, in order: ``conv{i}`` (conv i after its activation, before any
    LRN), ``lrn{i}`` (after LRN, for i in ``lrn_after`` when params is given),
    ``pool5`` (the conv stack's output) and, with ``with_logits``, ``logits``.
    """
    lrn = params.module() if params is not None else None
    stages = feature_stages(model)
    normalised: dict[str, Tensor] = {}
    replace: dict[str, Callable[[Tensor], Tensor] | None] = {}
    activation_of: dict[str, str] = {}  # conv{i} -> capture's name for its activation (relu{i})
    for stage in stages:
        if stage.kind == "lrn":
            replace[stage.name] = None  # the model's own LRN is left out: ``params`` alone decides
        elif stage.kind == "activation":
            activation_of[stage.conv] = stage.name
            index = int(stage.conv.removeprefix("conv"))
            if lrn is not None and index in lrn_after:
                replace[stage.name] = _normalise_into(normalised, f"lrn{index}", lrn)
    last = stages[-1].name
    wanted = [*activation_of.values(), last, *([LOGITS] if with_logits else [])]
    acts = capture_activations(model, x, wanted, replace=replace)
    out: dict[str, Tensor] = {}
    for conv, activation in activation_of.items():
        out[conv] = acts[activation]
        if (lrn_name := conv.replace("conv", "lrn")) in normalised:
            out[lrn_name] = normalised[lrn_name]
    out["pool5"] = acts[last]
    if with_logits:
        out["logits"] = acts[LOGITS]
    return out


def _normalise_into(out: dict[str, Tensor], name: str, lrn: nn.Module):
    """``lrn`` as a replacement for an activation's output that also keeps what it hands on as ``out[name]``."""

    def normalise(activation: Tensor) -> Tensor:
        normalised = lrn(activation)
        # clone: the network continues with ``normalised``, and a later in-place layer could write into it.
        out[name] = normalised.detach().clone()
        return normalised

    return normalise


def downstream_change(
    with_lrn: dict[str, Tensor], without_lrn: dict[str, Tensor]
) -> list[dict[str, float | str]]:
    """Per layer present in both runs: how far the activations with LRN are from those without.

    ``relative_change`` is ||on - off|| / ||off||; ``cosine`` compares directions
    only (a pure rescaling gives 1); ``winner_change_share`` is over positions
    for feature maps. Rows follow the order of ``with_lrn``.
    """
    rows: list[dict[str, float | str]] = []
    for name, on in with_lrn.items():
        off = without_lrn.get(name)
        if off is None or name.startswith("lrn"):
            continue
        on64, off64 = on.double().flatten(), off.double().flatten()
        off_norm = float(off64.norm())
        row: dict[str, float | str] = {
            "layer": name,
            "relative_change": float((on64 - off64).norm()) / off_norm if off_norm > 0 else float("nan"),
            "cosine": float(torch.nn.functional.cosine_similarity(on64, off64, dim=0)),
            "norm_ratio": float(on64.norm()) / off_norm if off_norm > 0 else float("nan"),
        }
        if on.dim() == 4:
            row["winner_change_share"] = winner_change_share(off, on)
        elif name == "logits":
            row["same_top1"] = float(on.argmax(dim=1).eq(off.argmax(dim=1)).all())
        rows.append(row)
    return rows


def analyse_image(
    model: nn.Module, x: Tensor, params: LRNParams, lrn_after: tuple[int, ...] = (1, 2), with_logits: bool = False
) -> dict:
    """Everything the LRN page shows for one image, as numpy arrays and plain numbers.

    ``layers[conv]``: ``before``/``after`` (C, H, W) float32, ``effect`` (``lrn_effect``),
    ``winners_before``/``winners_after`` (H, W). ``downstream``: ``downstream_change`` rows
    (LRN with ``params`` against no LRN); ``downstream_maps[conv]``: (with LRN, without) (C, H, W)
    arrays of the conv layers after the last LRN. ``logits_on``/``logits_off`` when ``with_logits``.
    ``activation_p99``: the 99th percentile of conv1's positive activations (where the
    response curve is worth looking).
    """
    on = run_features(model, x, params, lrn_after=lrn_after, with_logits=with_logits)
    off = run_features(model, x, None, with_logits=with_logits)
    layers = {}
    for i in lrn_after:
        before, after = on[f"conv{i}"], on[f"lrn{i}"]
        layers[f"conv{i}"] = {
            "before": before[0].float().numpy(),
            "after": after[0].float().numpy(),
            "effect": lrn_effect(before, after),
            "winners_before": winner_map(before),
            "winners_after": winner_map(after),
        }
    # The layers after the last LRN, as maps with LRN on and off, for side-by-side pictures.
    downstream_maps = {
        name: (on[name][0].float().numpy(), off[name][0].float().numpy())
        for name in on
        if name.startswith("conv") and int(name[4:]) > max(lrn_after) and name in off
    }
    first = on[f"conv{lrn_after[0]}"]
    positive = first[first > 0]
    result = {
        "layers": layers,
        "downstream": downstream_change(on, off),
        "downstream_maps": downstream_maps,
        "activation_p99": float(torch.quantile(positive.double(), 0.99)) if positive.numel() else 0.0,
    }
    if with_logits:
        result["logits_on"] = on["logits"][0].numpy()
        result["logits_off"] = off["logits"][0].numpy()
    return result


