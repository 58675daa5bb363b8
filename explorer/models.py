"""Which models the dashboard can show, and loading them read-only (no Streamlit).

Choices (``available_models``), in order:

1. the bundled reference model (``alexnet.reference``) when it ships; until then the freshly
   initialised two-tower paper model ("paper-init", seeded, so every user sees the same kernels);
2. every ``runs/<name>/checkpoint.pt`` and the snapshots saved beside it;
3. torchvision's AlexNet when its ImageNet weights are already on this machine.

An uploaded checkpoint is loaded with ``load_uploaded_checkpoint``. Every checkpoint goes through
``alexnet.checkpoint.load_checkpoint`` (``torch.load(weights_only=True)``), so a file that would run
code is refused before anything in it executes; an uploaded ``.safetensors`` file of weights is read
without any pickle (``alexnet.checkpoint.checkpoint_from_safetensors``).

A ``LoadedModel`` is shared by every session of a running app (``st.cache_resource``): it is in
eval mode, its parameters do not require gradients, and nothing in ``explorer`` changes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from alexnet.checkpoint import checkpoint_from_safetensors, is_safetensors, load_checkpoint, model_from_checkpoint
from alexnet.data import DatasetStats
from alexnet.errors import CheckpointError, DataError
from alexnet.model import AlexNet
from alexnet.paths import runs_root

__all__ = [
    "PAPER_INIT_SEED",
    "LoadedModel",
    "ModelKind",
    "ModelOption",
    "TorchvisionAlexNet",
    "available_models",
    "load_model",
    "load_uploaded_checkpoint",
    "model_towers",
]

ModelKind = Literal["reference", "paper-init", "run", "upload", "torchvision"]

#: Seed of the untrained default model, so its kernels are the same for everyone and every start.
PAPER_INIT_SEED = 2012
CHECKPOINT_FILE = "checkpoint.pt"
_CLASSIFIER_KEYS = ("classifier.fc6.weight", "classifier.fc7.weight", "classifier.fc8.weight")


@dataclass(frozen=True)
class ModelOption:
    """One entry of the sidebar's model list. ``path`` is the checkpoint file (None for built-ins)."""

    key: str
    label: str
    kind: ModelKind
    path: Path | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for the dashboard, with what the pages need to describe it honestly."""

    model: nn.Module  # eval mode; read-only (shared by every session)
    key: str  # stable id for caches
    label: str
    kind: ModelKind
    is_trained: bool
    has_classifier: bool  # False: predictions would be meaningless; ``classifier_note`` says why
    classifier_note: str | None = None
    class_names: list[str] | None = None
    data_stats: DatasetStats | None = None  # None: ImageNet's mean colour is subtracted instead
    notice: str | None = None  # shown on every page (e.g. "Untrained ...")
    towers: int = 1


class TorchvisionAlexNet(nn.Module):
    """torchvision's AlexNet fed like the paper's network.

    The dashboard gives every model raw 0..255 pixels minus a mean (here ImageNet's mean colour,
    ``explorer.images.IMAGENET_MEAN_RGB``); torchvision's weights expect (pixels/255 - mean)/std.
    This wrapper converts one into the other, so pages need no special case. ``features`` and
    ``classifier`` are the wrapped model's own modules.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        from explorer.images import IMAGENET_MEAN_RGB

        self.net = net
        self.features = net.features
        self.classifier = net.classifier
        self.register_buffer("mean_rgb", torch.tensor(IMAGENET_MEAN_RGB).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std_rgb", torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        pixels01 = (x + self.mean_rgb) / 255.0
        return self.net((pixels01 - self.mean_rgb / 255.0) / self.std_rgb)


def model_towers(model: nn.Module) -> int:
    """1 or 2: how many towers (the paper's GPUs) the model has."""
    config = getattr(model, "config", None)
    return int(getattr(config, "towers", 1))


def _freeze(model: nn.Module) -> nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def available_models(runs_dir: str | os.PathLike | None = None) -> list[ModelOption]:
    """Every model the sidebar offers; the first is the default. Cheap: reads no weights."""
    from alexnet import pretrained, reference

    options: list[ModelOption] = []
    # Module attributes read at call time (not default arguments), so tests can point them elsewhere.
    if reference.reference_available(reference.REFERENCE_DIR):
        label = "Reference AlexNet (bundled)"  # short: the sidebar cuts long names; the caption says the rest
        options.append(ModelOption("reference", label, "reference", reference.REFERENCE_DIR))
    options.append(ModelOption("paper-init", "Paper AlexNet, untrained", "paper-init"))
    runs = Path(runs_dir) if runs_dir is not None else runs_root()
    if runs.is_dir():
        for run in sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: _natural_key(p.name)):
            main = run / CHECKPOINT_FILE
            if main.is_file():
                options.append(ModelOption(f"run:{run.name}", f"Run {run.name} (latest checkpoint)", "run", main))
            snapshots = [p for p in run.rglob("*.pt") if p != main and p.is_file()]
            for snap in sorted(snapshots, key=lambda p: _natural_key(str(p.relative_to(run)))):
                rel = snap.relative_to(run).as_posix()
                options.append(ModelOption(f"run:{run.name}/{rel}", f"Run {run.name}: {rel}", "run", snap))
    if pretrained.torchvision_weights_available():
        options.append(
            ModelOption(
                "torchvision", "torchvision AlexNet, ImageNet weights (later single-tower variant)", "torchvision"
            )
        )
    return options


def _paper_init() -> LoadedModel:
    # Seed, then restore the global RNG, so loading the default model gives the same weights every
    # time and leaves other code's random state as it was.
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(PAPER_INIT_SEED)
        model = AlexNet(num_classes=1000, towers=2)
    finally:
        torch.random.set_rng_state(state)
    return LoadedModel(
        model=_freeze(model),
        key="paper-init",
        label="Paper AlexNet, untrained",
        kind="paper-init",
        is_trained=False,
        has_classifier=False,
        classifier_note="This model is untrained, so its class scores mean nothing and no predictions are shown.",
        notice=(
            "Untrained model: these are freshly initialised paper weights (N(0, 0.01), seed "
            f"{PAPER_INIT_SEED}). No trained model ships yet, so kernels look like noise and "
            "activations show what random filters do."
        ),
        towers=2,
    )


def _data_stats(checkpoint: dict[str, Any]) -> DatasetStats | None:
    raw = checkpoint.get("data_stats")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CheckpointError("checkpoint's data_stats is not a dict of tensors")
    try:
        return DatasetStats.from_state_dict(raw)
    except DataError as exc:
        raise CheckpointError(f"checkpoint's dataset statistics are unusable: {exc}") from None


def _from_checkpoint(checkpoint: dict[str, Any], *, key: str, label: str, kind: ModelKind) -> LoadedModel:
    """Build a LoadedModel from a checkpoint dict read by ``load_checkpoint``."""
    state = checkpoint["model"]
    model = model_from_checkpoint(checkpoint, strict=False)
    has_fc = all(k in state for k in _CLASSIFIER_KEYS)
    class_names = checkpoint.get("class_names")
    if class_names is not None and not (
        isinstance(class_names, (list, tuple)) and all(isinstance(c, str) for c in class_names)
    ):
        raise CheckpointError("checkpoint's class_names is not a list of strings")
    class_names = list(class_names) if class_names is not None else None
    num_classes = model.config.num_classes
    if class_names is not None and len(class_names) != num_classes:
        raise CheckpointError(f"checkpoint names {len(class_names)} classes but its model has {num_classes} outputs")
    epoch = checkpoint.get("epoch")
    # A checkpoint saved before any training step (epoch 0 snapshot) holds initial weights.
    is_trained = not (isinstance(epoch, int) and epoch == 0)
    note = None
    if not has_fc:
        note = (
            "This checkpoint holds only the convolutional layers (the fully connected layers are "
            "not included), so no predictions are shown."
        )
    elif not is_trained:
        note = "This checkpoint holds initial (untrained) weights, so no predictions are shown."
    notice = None
    if not is_trained:
        notice = "Untrained: this checkpoint holds the initial weights, before any training step."
    return LoadedModel(
        model=_freeze(model),
        key=key,
        label=label,
        kind=kind,
        is_trained=is_trained,
        has_classifier=has_fc and is_trained,
        classifier_note=note,
        class_names=class_names,
        data_stats=_data_stats(checkpoint),
        notice=notice,
        towers=model.config.towers,
    )


def _reference_notice(directory: Path) -> str | None:
    """Say how far the bundled model was trained when it stopped short of its planned epochs."""
    from alexnet import reference

    try:
        prov = reference.reference_provenance(directory)
        done, planned = int(prov["epochs_completed"]), int(prov["epochs_planned"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if done >= planned:
        return None
    top1 = prov.get("final_val_error", {}).get("centre_top1")
    chance = prov.get("chance_top1_error")
    error = (f" (validation top-1 error {100 * top1:.1f}%, chance {100 * chance:.0f}%)"
             if isinstance(top1, float) and isinstance(chance, float) else "")
    return (f"Partly trained: the bundled reference model stopped after {done} of its {planned} planned "
            f"epochs on Imagenette{error}; its kernels are still forming.")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _torchvision() -> LoadedModel:
    from torchvision.models import AlexNet_Weights

    from alexnet.pretrained import load_torchvision_alexnet

    net = load_torchvision_alexnet("IMAGENET1K_V1", download=False)
    return LoadedModel(
        model=_freeze(TorchvisionAlexNet(net)),
        key="torchvision:IMAGENET1K_V1",
        label="torchvision AlexNet (ImageNet)",
        kind="torchvision",
        is_trained=True,
        has_classifier=True,
        class_names=list(AlexNet_Weights.IMAGENET1K_V1.meta["categories"]),
        notice=(
            "torchvision's AlexNet is the later single-tower variant (64 conv1 kernels, no LRN), "
            "not the paper's network."
        ),
        towers=1,
    )


def load_model(option: ModelOption) -> LoadedModel:
    """Load the model an option names. Raises CheckpointError / WeightsUnavailableError with a clear message."""
    if option.kind == "paper-init":
        return _paper_init()
    if option.kind == "torchvision":
        return _torchvision()
    if option.kind == "reference":
        from alexnet import reference

        directory = Path(option.path or reference.REFERENCE_DIR)
        checkpoint = reference.load_reference_checkpoint(directory)
        # The digest makes the cache key change when a new export replaces the bundled weights.
        key = f"reference@{_file_digest(directory / reference.WEIGHTS_INDEX)}"
        loaded = _from_checkpoint(checkpoint, key=key, label="Reference AlexNet", kind="reference")
        return dataclasses.replace(loaded, notice=_reference_notice(directory))
    if option.kind == "run":
        if option.path is None:
            raise CheckpointError(f"model option {option.key!r} has no checkpoint path")
        checkpoint = load_checkpoint(option.path)
        # The digest makes the cache key change when a run overwrites its checkpoint.
        key = f"{option.key}@{_file_digest(option.path)}"
        return _from_checkpoint(checkpoint, key=key, label=option.label, kind="run")
    raise ValueError(f"cannot load a model of kind {option.kind!r} from an option; use load_uploaded_checkpoint")


def load_uploaded_checkpoint(data: bytes, name: str = "uploaded checkpoint") -> LoadedModel:
    """An uploaded checkpoint: a ``torch.save`` file read with weights_only=True, or one ``.safetensors``
    file of AlexNet weights (no pickle at all; ``alexnet.checkpoint.checkpoint_from_safetensors``).

    Anything else raises CheckpointError with one line naming the user's file.
    """
    if not data:
        raise CheckpointError(f"{name} is empty")
    digest = hashlib.sha256(data).hexdigest()[:16]
    if name.lower().endswith(".safetensors") or is_safetensors(data):
        checkpoint = checkpoint_from_safetensors(data, name)
        loaded = _from_checkpoint(checkpoint, key=f"upload:{digest}", label=f"Uploaded: {name}", kind="upload")
        if checkpoint.get("config_source") != "shapes":
            return loaded
        towers = "two towers" if loaded.towers == 2 else "one tower"
        guessed = (f"{name} carries no config: {towers} and {loaded.model.config.num_classes} classes were read "
                   "from its tensor shapes; LRN, overlapping pooling and ReLU are assumed as in the paper.")
        return dataclasses.replace(loaded, notice=" ".join(filter(None, [loaded.notice, guessed])))
    # load_checkpoint reads a path; a private temporary file keeps its checks in one place.
    fd, tmp = tempfile.mkstemp(prefix="alexnet-upload-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            checkpoint = load_checkpoint(tmp)
        except CheckpointError as exc:
            # The message names the temporary file; name the user's file instead.
            raise CheckpointError(str(exc).replace(Path(tmp).name, name)) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return _from_checkpoint(checkpoint, key=f"upload:{digest}", label=f"Uploaded: {name}", kind="upload")
