"""explorer.dataset_examples on a hand-made folder (one red dot per image) and a tiny network: known tops, patches."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import explorer.dataset_examples as dx
from alexnet.data import DatasetStats, EvalPreset, load_image_folder
from alexnet.errors import DataError
from alexnet.predict import Classifier
from explorer.dataset_examples import build_unit_examples, top_patches

SIZE, CROP = 24, 20  # the crop starts at pixel 2
# image i: (split, class folder, red value, dot row, dot column) in the 24x24 file
DOTS = [
    ("train", "a", 40, 5, 5), ("train", "a", 200, 2, 9), ("train", "b", 90, 12, 12), ("train", "b", 250, 21, 3),
    ("val", "a", 120, 8, 16), ("val", "b", 180, 15, 7),
]


class TinyNet(nn.Module):
    """conv1: channel 0 = red at the kernel's centre, channel 1 = green; conv2 copies them; fc6/fc7/fc8 random.

    ``pool`` is the last pooling's size and ``side`` the map side it leaves (5 for 20x20 inputs and 2x2 pools);
    ``colours`` are conv1's centre taps (RGB weights) of its two channels.
    """

    def __init__(self, pool: int = 2, side: int = 5, colours=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))):
        super().__init__()
        conv1, conv2 = nn.Conv2d(3, 2, 3, padding=1), nn.Conv2d(2, 2, 1)
        with torch.no_grad():
            for conv in (conv1, conv2):
                conv.weight.zero_()
                conv.bias.zero_()
            conv1.weight[:, :, 1, 1] = torch.tensor(colours)
            conv2.weight[0, 0] = conv2.weight[1, 1] = 1.0
        self.features = nn.Sequential(conv1, nn.ReLU(inplace=True), nn.MaxPool2d(2, 2), conv2, nn.ReLU(inplace=True),
                                      nn.MaxPool2d(pool, pool))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * side * side, 4), nn.ReLU(inplace=True),
                                        nn.Dropout(), nn.Linear(4, 3), nn.ReLU(inplace=True), nn.Linear(3, 2))

    def forward(self, x):
        return self.classifier(self.features(x))


@pytest.fixture(scope="module")
def dots(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dots")
    for i, (split, cls, red, y, x) in enumerate(DOTS):
        pixels = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
        pixels[y, x] = (red, 0, 0)
        pixels[1 + i, 20] = (0, 30 + i, 0)  # green: a weaker second channel
        (root / split / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / split / cls / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    torch.manual_seed(3)
    stats = DatasetStats(torch.zeros(3, SIZE, SIZE), torch.ones(3), torch.eye(3))
    return Classifier(TinyNet().eval(), EvalPreset(stats, crop_size=CROP), ["a", "b"], ["a", "b"], "tiny")


def _build(classifier, dots, **options):
    return build_unit_examples(classifier, dots, image_size=SIZE, k=3, batch_size=4, show_progress=False, **options)


def test_conv1_red_channel_tops_by_hand(classifier, dots):
    calls = []
    index = _build(classifier, dots, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 6), (6, 6)]  # train (4 images in one batch), then val
    assert [Path(p).name for p in index.paths] == [f"{i}.png" for i in range(6)]  # train then val, sorted
    conv1 = index.layers["conv1"]
    order = sorted(range(len(DOTS)), key=lambda i: -DOTS[i][2])[:3]  # the three reddest images
    assert conv1.images[0].tolist() == order
    assert conv1.values[0].tolist() == [float(DOTS[i][2]) for i in order]
    assert conv1.ys[0].tolist() == [DOTS[i][3] - 2 for i in order]  # positions in the 20x20 crop
    assert conv1.xs[0].tolist() == [DOTS[i][4] - 2 for i in order]
    assert (conv1.field.size, conv1.field.jump) == (3, 1)
    assert set(index.layers) == {"conv1", "conv2", "fc6", "fc7"}  # the tiny net has no conv3..conv5

    patches = top_patches(index, "conv1", 0)
    assert patches.shape == (3, 3, 3, 3) and patches.dtype == np.uint8
    for rank, i in enumerate(order):
        assert tuple(patches[rank, 1, 1]) == (DOTS[i][2], 0, 0)  # the dot sits at the field's centre
    # Image 3's dot is on the crop's last row: the field's bottom row hangs over the border (grey).
    assert (patches[0, 2] == 128).all() and (patches[0, :2] != 128).all()
    decoded = torch.cat([load_image_folder(dots / s, size=SIZE, progress=False).images for s in ("train", "val")])
    whole = top_patches(index, "fc6", 1, images=decoded)  # fully connected: the whole crop
    assert whole.shape == (3, CROP, CROP, 3)
    np.testing.assert_array_equal(whole[0], decoded[index.layers["fc6"].images[1, 0], :, 2:22, 2:22].permute(1, 2, 0))


def test_every_layer_matches_a_brute_force_pass(classifier, dots):
    """The tops of every channel equal sorting all images by that channel's maximum (a direct computation)."""
    index = _build(classifier, dots, layers=("conv2", "fc6", "fc7"), cache=False)
    images = torch.cat([load_image_folder(dots / s, size=SIZE, progress=False).images for s in ("train", "val")])
    model = classifier.model
    with torch.no_grad():
        x = classifier.preset(images)
        conv2 = model.features[:4](x)
        fc6 = model.classifier[:2](model.features(x))
        fc7 = model.classifier[4](torch.relu(fc6))
    for name, act in (("conv2", conv2), ("fc6", fc6), ("fc7", fc7)):
        best = act.flatten(2).amax(dim=2) if act.ndim == 4 else act
        e = index.layers[name]
        for c in range(best.shape[1]):
            expected = best[:, c].sort(descending=True, stable=True)
            np.testing.assert_allclose(e.values[c], expected.values[:3].numpy(), rtol=1e-6)
        assert e.values.shape == (best.shape[1], 3)


def test_cached_by_model_and_files(classifier, dots, monkeypatch):
    first = _build(classifier, dots)
    monkeypatch.setattr(dx, "capture_activations", lambda *a, **k: pytest.fail("recomputed despite the cache"))
    again = _build(classifier, dots)
    assert again.key == first.key
    np.testing.assert_array_equal(again.layers["conv1"].images, first.layers["conv1"].images)
    assert again.layers["conv1"].field == first.layers["conv1"].field and again.layers["fc6"].field is None
    monkeypatch.undo()
    stamp = dots / "val" / "b" / "5.png"
    os.utime(stamp, ns=(stamp.stat().st_atime_ns, stamp.stat().st_mtime_ns + 10**9))  # another file list
    assert _build(classifier, dots).key != first.key


def test_one_line_errors(classifier, dots, tmp_path):
    with pytest.raises(DataError, match="unknown layer 'conv5'; known: conv1, conv2, fc6, fc7"):
        _build(classifier, dots, layers=("conv5",))
    with pytest.raises(DataError, match="data folder not found"):
        _build(classifier, tmp_path / "nowhere")
    index = _build(classifier, dots)
    with pytest.raises(KeyError, match="unknown layer"):
        top_patches(index, "conv9", 0)
    with pytest.raises(IndexError, match="channels 0..1"):
        top_patches(index, "conv1", 2)


def test_rebuild_ignores_and_replaces_the_cached_index(classifier, dots, monkeypatch):
    _build(classifier, dots)
    calls = []
    real = dx.capture_activations
    monkeypatch.setattr(dx, "capture_activations", lambda *a, **k: calls.append(1) or real(*a, **k))
    _build(classifier, dots, rebuild=True)
    assert calls  # computed again
