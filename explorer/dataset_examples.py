"""Dataset examples per channel: the images (and the places in them) that drive each unit hardest.

Zeiler & Fergus (2014) show a unit by the image patches that excite it most. One pass over a dataset
(Imagenette train + val: 5,000 images) keeps, for every channel of conv1..conv5 and every unit of fc6
and fc7, the top ``k`` images by the channel's maximum over positions (one entry per image: nine
different pictures) and where that maximum is; ``top_patches`` cuts out the receptive field there.

Values are the layers' outputs before their ReLU: for a unit that fires the order is the ReLU's, and a
unit that never fires gets its nearest misses instead of nine arbitrary zeros. Conv outputs come from
``capture_activations``; fc6 and fc7 are computed from the captured pool5 (hooks on the features do
not reach the classifier). Cached in ``$ALEXNET_CACHE_DIR/unit-examples/`` under a key of the model's
weights (``alexnet.neighbours.model_digest``), its mean image and the data's file list (``folder_digest``:
paths, sizes, modification times): the dashboard pays for the pass once per model and dataset.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from alexnet.checkpoint import atomic_save
from alexnet.data import decode_image_file, find_split, list_image_folder, load_image_folder
from alexnet.errors import DataError
from alexnet.neighbours import folder_digest, model_digest
from alexnet.paths import cache_dir
from alexnet.predict import Classifier
from explorer.activations import capture_activations, conv_layers, feature_stages
from explorer.attribution import Progress
from explorer.receptive_field import ReceptiveField, receptive_fields

__all__ = ["DEFAULT_LAYERS", "DecodedImages", "LayerExamples", "UnitExamples", "build_unit_examples", "top_patches",
           "unit_layers"]

INDEX_FORMAT = "alexnet-explorer/unit-examples/1"
DEFAULT_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")
FC_LAYERS = ("fc6", "fc7")


@dataclass(frozen=True)
class LayerExamples:
    """The top ``k`` of every channel of one layer, best first; each array is (channels, k).

    ``images``: indices into ``UnitExamples.paths``; ``ys``, ``xs``: the maximum's position in the
    layer's map; ``values``: the maximum. ``field``: the layer's receptive field; None for fully
    connected layers, whose units see the whole crop.
    """

    name: str
    values: np.ndarray
    images: np.ndarray
    ys: np.ndarray
    xs: np.ndarray
    field: ReceptiveField | None = None

    @property
    def channels(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True)
class UnitExamples:
    """Everything ``top_patches`` needs: per-layer tops, the image files (train then val) and their labels."""

    layers: dict[str, LayerExamples]
    paths: list[str]
    labels: np.ndarray
    classes: list[str]
    image_size: int
    crop_size: int
    key: str


def unit_layers(model: nn.Module) -> dict[str, int]:
    """The layers an index can hold for ``model`` and their channel counts: conv layers, then fc6, fc7 if present."""
    units = {name: conv.out_channels for name, conv in conv_layers(model).items()}
    linears = [m for m in getattr(model, "classifier", nn.Sequential()).children() if isinstance(m, nn.Linear)]
    units.update({name: linear.out_features for name, linear in zip(FC_LAYERS, linears[:-1], strict=False)})
    return units


def _head_outputs(model: nn.Module, features: Tensor, wanted: Sequence[str]) -> dict[str, Tensor]:
    """fc6, fc7 (before their ReLUs) from pool5: the classifier's modules in order, up to the last one wanted."""
    out: dict[str, Tensor] = {}
    h = features.flatten(1)
    linear = 5  # the paper numbers the fully connected layers from 6
    for module in model.classifier.children():
        if len(out) == len(wanted):
            break
        h = module(h)
        if isinstance(module, nn.Linear):
            linear += 1
            if f"fc{linear}" in wanted:
                out[f"fc{linear}"] = h.clone()  # the ReLU that follows works in place
    return out


class _Tops:
    """Running top-k per channel over batches: merge the batch's per-image maxima, keep the best k."""

    def __init__(self, k: int):
        self.k = k
        self.values: Tensor | None = None

    def add(self, act: Tensor, first: int) -> None:
        b, c = act.shape[:2]
        width = act.shape[-1] if act.ndim == 4 else 1
        best, where = act.reshape(b, c, -1).float().max(dim=2)  # (B, C): one entry per image and channel
        images = torch.arange(first, first + b).unsqueeze(1).expand(b, c)
        cand = (best.T, images.T, where.T)
        if self.values is not None:
            cand = tuple(torch.cat(pair, dim=1) for pair in zip((self.values, self.images, self.where), cand,
                                                                  strict=True))
        keep = cand[0].topk(min(self.k, cand[0].shape[1]), dim=1).indices
        self.values, self.images, self.where = (t.gather(1, keep) for t in cand)
        self.width = width


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode() if not isinstance(part, Tensor) else part.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def build_unit_examples(
    classifier: Classifier,
    data: str | os.PathLike,
    *,
    splits: Sequence[str] = ("train", "val"),
    layers: Sequence[str] | None = None,
    k: int = 9,
    image_size: int = 256,
    batch_size: int = 50,
    cache: bool = True,
    rebuild: bool = False,
    progress: Progress | None = None,
    show_progress: bool = True,
) -> UnitExamples:
    """The top ``k`` images of every channel of ``layers`` over ``data``'s ``splits`` (computed once, then cached).

    ``layers`` default: every conv layer of the model and fc6, fc7 (``unit_layers``). ``rebuild``
    computes the index again even when it is cached (and, with ``cache``, replaces the cached one).
    ``progress(done, total)`` follows each batch of images; ``show_progress`` also shows a tqdm bar
    with images/s. A missing folder is a one-line ``DataError`` naming it.
    """
    model = classifier.model
    known = list(unit_layers(model))
    layers = known if layers is None else list(layers)
    unknown = [name for name in layers if name not in known]
    if unknown:
        raise DataError(f"unknown layer {unknown[0]!r}; known: {', '.join(known)}")
    convs = conv_layers(model)
    folders = [find_split(Path(data), split).expanduser().resolve() for split in splits]
    listed = [list_image_folder(folder) for folder in folders]
    if any(classes != listed[0][0] for classes, _ in listed):
        raise DataError(f"the splits {', '.join(splits)} of {data} have different class folders")
    files = [path for _, samples in listed for path, _ in samples]
    labels = np.array([label for _, samples in listed for _, label in samples], dtype=np.int64)
    crop = classifier.preset.crop_size
    key = _digest(INDEX_FORMAT, model_digest(classifier), classifier.preset.stats.mean_image, tuple(layers), k,
                  image_size, crop, folder_digest(files))
    path = cache_dir() / "unit-examples" / f"{key}.pt"
    if cache and not rebuild and path.is_file():
        cached = _load(path, key)
        if cached is not None:
            return cached

    fields = receptive_fields(model, crop)
    tops = {name: _Tops(k) for name in layers}
    conv_wanted = [name for name in layers if name in convs]
    fc_wanted = [name for name in layers if name in FC_LAYERS]
    last = feature_stages(model)[-1].name  # what the classifier reads: pool5 in AlexNet
    wanted = [*conv_wanted, *([last] if fc_wanted and last not in conv_wanted else [])]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(files), desc="unit examples", unit="img", leave=False, disable=not show_progress)
    done = 0
    try:
        for folder in folders:
            images = load_image_folder(folder, size=image_size, progress=show_progress).images
            for start in range(0, len(images), batch_size):
                with torch.inference_mode():
                    x = classifier.preset(images[start:start + batch_size])
                    acts = capture_activations(model, x, wanted)
                    if fc_wanted:
                        acts.update(_head_outputs(model, acts[last], fc_wanted))
                    for name in layers:
                        tops[name].add(acts[name], done)
                done += x.shape[0]
                bar.update(x.shape[0])
                if progress is not None:
                    progress(done, len(files))
    finally:
        bar.close()
    result = UnitExamples(
        {name: _layer(name, tops[name], fields.get(name)) for name in layers},
        [str(p) for p in files], labels, list(listed[0][0]), image_size, crop, key,
    )
    if cache:
        atomic_save(_state(result), path)
    return result


def _layer(name: str, tops: _Tops, field) -> LayerExamples:
    where = tops.where.numpy()
    return LayerExamples(name, tops.values.numpy().astype(np.float32), tops.images.numpy().astype(np.int64),
                         (where // tops.width).astype(np.int16), (where % tops.width).astype(np.int16), field)


def _state(index: UnitExamples) -> dict:
    layers = {name: {"values": torch.from_numpy(e.values), "images": torch.from_numpy(e.images),
                     "ys": torch.from_numpy(e.ys), "xs": torch.from_numpy(e.xs),
                     "field": torch.tensor(_field_numbers(e.field))}
              for name, e in index.layers.items()}
    return {"format": INDEX_FORMAT, "key": index.key, "layers": layers, "paths": index.paths,
            "labels": torch.from_numpy(index.labels), "classes": index.classes,
            "sizes": torch.tensor([index.image_size, index.crop_size])}


def _field_numbers(field: ReceptiveField | None) -> list[int]:
    return [0] * 5 if field is None else [field.size, field.jump, field.offset, field.side, field.input_size]


def _load(path: Path, key: str) -> UnitExamples | None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt, never trusted
        return None
    if not isinstance(state, dict) or state.get("format") != INDEX_FORMAT or state.get("key") != key:
        return None
    layers = {name: LayerExamples(name, d["values"].numpy(), d["images"].numpy(), d["ys"].numpy(), d["xs"].numpy(),
                                  ReceptiveField(name, *d["field"].tolist()) if d["field"][0] else None)
              for name, d in state["layers"].items()}
    image_size, crop = (int(v) for v in state["sizes"])
    return UnitExamples(layers, list(state["paths"]), state["labels"].numpy(), list(state["classes"]), image_size,
                        crop, key)


class DecodedImages:
    """The index's images by dataset index, each split decoded once on first use (``load_image_folder``'s cache).

    What ``top_patches(images=...)`` takes when many channels are drawn: reading the decoded split
    (about 1 s for Imagenette's train from the cache) beats decoding some thousand JPEG files again.
    """

    def __init__(self, index: UnitExamples, progress: bool = False):
        self._size, self._progress = index.image_size, progress
        self._splits: list[list] = []  # [first index, count, folder, tensor or None], in the index's order
        for i, path in enumerate(index.paths):
            folder = Path(path).parent.parent
            if self._splits and self._splits[-1][2] == folder:
                self._splits[-1][1] += 1
            else:
                self._splits.append([i, 1, folder, None])

    def __getitem__(self, i: int) -> Tensor:
        for split in self._splits:
            first, count, folder, images = split
            if first <= i < first + count:
                if images is None:
                    images = split[3] = load_image_folder(folder, size=self._size, progress=self._progress).images
                return images[i - first]
        raise IndexError(f"image {i} is not in the index")


def network_view(image: Tensor, crop: int) -> Tensor:
    """The centre ``crop`` of a uint8 (3, S, S) image: the pixels the network saw (EvalPreset's crop)."""
    import torchvision.transforms.v2.functional as TF

    return TF.center_crop(image, [crop, crop])


def top_patches(
    index: UnitExamples, layer: str, channel: int, *, images=None, fill: int = 128
) -> np.ndarray:
    """The receptive fields of ``layer``'s ``channel`` at its top images' maxima: uint8 (k, size, size, 3).

    Fully connected units see the whole crop (size = the crop). Parts of a field that hang over the
    image's border are ``fill`` grey. ``images``: anything indexed by the dataset index that gives the
    uint8 (3, S, S) image (the decoded tensor, a cache); by default the files are decoded again.
    """
    if layer not in index.layers:
        raise KeyError(f"unknown layer {layer!r}; the index has: {', '.join(index.layers)}")
    e = index.layers[layer]
    if not 0 <= channel < e.channels:
        raise IndexError(f"{layer} has channels 0..{e.channels - 1}, not {channel}")
    size = e.field.size if e.field is not None else index.crop_size
    patches = np.full((e.values.shape[1], size, size, 3), fill, dtype=np.uint8)
    for rank, i in enumerate(e.images[channel].tolist()):
        image = images[i] if images is not None else decode_image_file(index.paths[i], index.image_size)
        view = network_view(image, index.crop_size).permute(1, 2, 0).numpy()
        if e.field is None:
            patches[rank] = view
            continue
        y, x = int(e.ys[channel, rank]), int(e.xs[channel, rank])
        whole, seen = e.field.box(y, x, clip=False), e.field.box(y, x)
        patches[rank, seen.top - whole.top:seen.bottom - whole.top, seen.left - whole.left:seen.right - whole.left] = (
            view[seen.top:seen.bottom, seen.left:seen.right]
        )
    return patches
