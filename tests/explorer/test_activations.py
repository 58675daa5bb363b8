"""explorer.activations: hooks capture the right tensors and leave the shared model untouched."""

from __future__ import annotations

import io
import math
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import alexnet as torchvision_alexnet

from alexnet.model import AlexNet
from explorer.activations import (
    LOGITS,
    PaletteImage,
    capture_activations,
    channel_stats,
    conv_layers,
    feature_grid,
    feature_grid_indexed,
    feature_stages,
    model_lock,
    top_k,
)
from explorer.grids import grid_shape

PAPER_STAGES = [
    "conv1", "relu1", "lrn1", "pool1", "conv2", "relu2", "lrn2", "pool2",
    "conv3", "relu3", "conv4", "relu4", "conv5", "relu5", "pool5",
]  # fmt: skip


@pytest.fixture(scope="module")
def model() -> AlexNet:
    torch.manual_seed(0)
    return AlexNet(num_classes=10, towers=2).eval()


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(1, 3, 227, 227, generator=torch.Generator().manual_seed(1)) * 60


def test_stage_names_of_the_paper_network(model):
    stages = feature_stages(model)
    assert [s.name for s in stages] == PAPER_STAGES
    assert {s.name: s.conv for s in stages}["lrn2"] == "conv2"
    assert {s.name: s.label for s in stages}["relu1"] == "relu1 (conv1 + ReLU)"


def test_stage_names_without_lrn_and_with_tanh():
    names = [s.name for s in feature_stages(AlexNet(num_classes=10, lrn=False, init=False))]
    assert "lrn1" not in names and "lrn2" not in names and names[:3] == ["conv1", "relu1", "pool1"]
    labels = {s.name: s.label for s in feature_stages(AlexNet(num_classes=10, activation="tanh", init=False))}
    assert labels["relu3"] == "relu3 (conv3 + tanh)"  # the canonical name stays relu3


def test_stage_names_of_torchvision_alexnet():
    net = torchvision_alexnet(weights=None).eval()
    names = [s.name for s in feature_stages(net)]
    assert names == [n for n in PAPER_STAGES if not n.startswith("lrn")]
    assert conv_layers(net)["conv1"] is net.features[0]
    assert conv_layers(net)["conv5"] is net.features[10]


def test_captured_tensors_equal_a_hand_run_of_the_layers(model, x):
    acts = capture_activations(model, x)
    assert list(acts) == [*PAPER_STAGES, LOGITS]
    with torch.no_grad():
        conv1 = model.layer("conv1")(x)
        assert torch.equal(acts["conv1"], conv1)
        # conv1's output is overwritten by the in-place ReLU during the forward pass; the hook's copy is not.
        assert (acts["conv1"] < 0).any()
        assert torch.equal(acts["relu1"], F.relu(conv1))
        assert torch.equal(acts["pool5"], model.features(x))
        assert torch.equal(acts[LOGITS], model(x))
    assert tuple(acts["pool1"].shape) == (1, 96, 27, 27)
    assert tuple(acts["relu5"].shape) == (1, 256, 13, 13)


def layer_by_layer(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Every feature module's output, each module run on a private copy of its input (no aliasing)."""
    outputs, current = [], x
    with torch.no_grad():
        for module in net.features.children():
            current = module(current.clone())
            outputs.append(current.clone())
    return outputs


@pytest.mark.parametrize("which", ["paper", "torchvision"])
def test_captured_tensors_equal_a_fresh_run_of_every_layer(model, x, which):
    net = model if which == "paper" else torchvision_alexnet(weights=None).eval()
    stages = feature_stages(net)
    fresh = dict(zip([m for m in net.features.children()], layer_by_layer(net, x), strict=True))
    acts = capture_activations(net, x)
    for stage in stages:
        assert torch.equal(acts[stage.name], fresh[stage.module]), stage.name
    assert all((acts[s.name] < 0).any() for s in stages if s.kind == "conv")  # not overwritten by the ReLU
    with torch.no_grad():
        assert torch.equal(acts[LOGITS], net(x))


def test_captured_tensors_own_their_memory_and_survive_later_passes(model, x):
    acts = capture_activations(model, x)
    storages = [t.untyped_storage().data_ptr() for t in acts.values()]
    assert len(set(storages)) == len(storages)  # no two returned tensors are views of one storage
    assert x.untyped_storage().data_ptr() not in storages
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    assert params.isdisjoint(storages)
    saved = {name: t.clone() for name, t in acts.items()}
    acts["relu1"].zero_()  # changing one returned tensor changes no other
    capture_activations(model, x * -1)  # nor do later passes (their in-place ReLUs) touch them
    with torch.no_grad():
        model(x + 1)
    assert all(torch.equal(acts[name], saved[name]) for name in saved if name != "relu1")


def test_any_in_place_module_gets_its_input_copied_first():
    # A pooling output overwritten by an in-place activation after it; detection is by `inplace=True`.
    torch.manual_seed(0)
    net = nn.Sequential()
    net.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.ReLU(inplace=True))
    net.forward = lambda t: net.features(t).flatten(1)  # type: ignore[method-assign]
    net.eval()
    x = torch.randn(1, 1, 9, 9)
    acts = capture_activations(net, x, ["conv1", "pool1", "relu1"])
    with torch.no_grad():
        conv = net.features[0](x)
        pool = F.max_pool2d(conv, 2)
    assert (pool < 0).any()
    assert torch.equal(acts["conv1"], conv)
    assert torch.equal(acts["pool1"], pool)
    assert torch.equal(acts["relu1"], F.relu(pool))
    assert all(not m._forward_pre_hooks for m in net.modules())


def test_capture_leaves_the_model_untouched(model, x):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    acts = capture_activations(model, x, ["relu2"])
    assert list(acts) == ["relu2"]
    assert not model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not acts["relu2"].requires_grad


def test_hooks_are_removed_when_the_forward_pass_fails(model):
    with pytest.raises(RuntimeError):
        capture_activations(model, torch.zeros(1, 3, 20, 20))  # too small for the network
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def small_net() -> nn.Module:
    """conv -> in-place ReLU -> max-pool, with a forward that flattens: a paper-like stack in miniature."""
    torch.manual_seed(0)
    net = nn.Sequential()
    net.features = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2))
    net.forward = lambda t: net.features(t).flatten(1)  # type: ignore[method-assign]
    return net.eval()


def test_a_replaced_output_is_what_the_network_continues_with():
    net = small_net()
    x = torch.randn(1, 1, 9, 9)
    acts = capture_activations(net, x, ["conv1", "relu1", "pool1", LOGITS], replace={"relu1": lambda t: 1 - t})
    with torch.no_grad():
        conv = net.features[0](x)
    assert torch.equal(acts["conv1"], conv)
    assert torch.equal(acts["relu1"], F.relu(conv))  # captured as the layer computed it, before the swap
    assert torch.equal(acts["pool1"], F.max_pool2d(1 - F.relu(conv), 2))
    assert torch.equal(acts[LOGITS], acts["pool1"].flatten(1))
    with torch.no_grad():
        assert torch.equal(net(x), F.max_pool2d(F.relu(conv), 2).flatten(1))  # the swap lasted one pass


def test_a_layer_left_out_passes_its_input_on(model, x):
    ablation = AlexNet(num_classes=10, towers=2, lrn=False, init=False)
    ablation.load_state_dict(model.state_dict())  # LRN has no weights: the same network without it
    acts = capture_activations(model, x, ["lrn1", "pool5"], replace={"lrn1": None, "lrn2": None})
    with torch.no_grad():
        assert torch.equal(acts["pool5"], ablation.eval().features(x))
        assert torch.equal(acts["lrn1"], model.layer("lrn1")(F.relu(model.layer("conv1")(x))))
    with pytest.raises(ValueError, match="in place"):
        capture_activations(small_net(), torch.zeros(1, 1, 9, 9), replace={"relu1": None})
    with pytest.raises(KeyError, match="unknown layers"):
        capture_activations(model, x, ["pool5"], replace={LOGITS: None})


def test_hooks_are_removed_when_a_replacement_fails(model, x):
    def fail(_t: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("replacement failed")

    with pytest.raises(RuntimeError, match="replacement failed"):
        capture_activations(model, x, ["conv1"], replace={"relu3": fail})
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert not model_lock(model).locked()  # and the model is free for the next capture
    assert list(capture_activations(model, x, ["pool1"])) == ["pool1"]


def test_returned_tensors_are_copies(model, x):
    first = capture_activations(model, x, ["pool1"])["pool1"]
    first.zero_()
    second = capture_activations(model, x, ["pool1"])["pool1"]
    assert second.abs().sum() > 0


def test_training_mode_and_unknown_layers_are_refused(x):
    net = AlexNet(num_classes=10)
    with pytest.raises(ValueError, match="eval mode"):
        capture_activations(net, x)
    with pytest.raises(KeyError, match="unknown layers"):
        capture_activations(net.eval(), x, ["conv9"])


def test_concurrent_captures_on_one_model_do_not_mix(model):
    # Sessions share one model; each capture must see only its own forward pass.
    inputs = [torch.full((1, 3, 227, 227), float(v)) for v in (-50, 0, 30, 80)]
    with torch.no_grad():
        expected = [model.features(t) for t in inputs]
    results: dict[int, torch.Tensor] = {}

    def work(i: int) -> None:
        for _ in range(3):
            results[i] = capture_activations(model, inputs[i], ["pool5"])["pool5"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, want in enumerate(expected):
        assert torch.equal(results[i], want)


def test_channel_stats_by_hand():
    act = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]], [[0.0, 0.0], [0.0, -4.0]]]])
    stats = channel_stats(act)
    assert stats["channel"].tolist() == [0, 1]
    assert stats["mean"].tolist() == [1.5, -1.0]
    assert stats["max"].tolist() == [3.0, 0.0]
    assert stats["min"].tolist() == [0.0, -4.0]
    assert stats["zero_fraction"].tolist() == [0.25, 0.75]


def test_feature_grid_layout_and_per_channel_contrast():
    act = np.array(
        [[[0, 1], [2, 3]], [[10, 10], [10, 10]], [[-1, 0], [0, 1]]],
        dtype=np.float32,
    )
    grid = feature_grid(act, normalise="per-channel", colormap=None, pad=1)
    assert grid_shape(3) == (2, 2)
    assert grid.shape == (5, 5) and grid.dtype == np.uint8
    assert grid[0:2, 0:2].tolist() == [[0, 85], [170, 255]]
    assert grid[0:2, 3:5].tolist() == [[0, 0], [0, 0]]  # a constant map sits at the bottom of its range
    assert grid[3:5, 0:2].tolist() == [[0, 128], [128, 255]]
    assert (grid[2, :] == 255).all() and (grid[:, 2] == 255).all()  # white separators
    assert (grid[3:5, 3:5] == 255).all()  # the empty fourth tile


def test_feature_grid_shared_contrast_and_scale():
    act = np.array([[[0, 5], [5, 0]], [[0, 10], [10, 0]]], dtype=np.float32)
    grid = feature_grid(act, normalise="shared", colormap=None, pad=0)
    assert grid.shape == (2, 4)
    assert grid.tolist() == [[0, 128, 0, 255], [128, 0, 255, 0]]
    big = feature_grid(act, normalise="shared", colormap=None, pad=0, scale=3)
    assert big.shape == (6, 12) and (big[0:3, 3:6] == 128).all()
    coloured = feature_grid(act, colormap="viridis")
    assert coloured.shape == (2, 5, 3)
    with pytest.raises(ValueError, match="normalise"):
        feature_grid(act, normalise="log")


def test_indexed_grid_is_the_rgb_grid_and_its_png_is_lossless():
    from PIL import Image

    from explorer.figures import png_bytes

    act = np.random.default_rng(0).normal(size=(10, 4, 6)).astype(np.float32)
    act[3] = 2.0  # a constant map
    for kwargs in ({}, {"normalise": "shared", "scale": 2, "pad": 2}, {"cols": 3, "colormap": "magma"}):
        indexed = feature_grid_indexed(act, **kwargs)
        assert isinstance(indexed, PaletteImage) and (indexed.palette[-1] == 255).all()  # white separators
        rgb = feature_grid(act, **kwargs)
        assert np.array_equal(indexed.rgb(), rgb) and indexed.shape == rgb.shape
        decoded = Image.open(io.BytesIO(png_bytes(indexed)))
        assert np.array_equal(np.asarray(decoded.convert("RGB")), rgb)
        # viridis has 254 distinct colours at 256 levels: with white, an 8-bit palette PNG. magma has 256,
        # one too many with white: 16-bit indices, written as an RGB PNG.
        fits = kwargs.get("colormap", "viridis") == "viridis"
        assert indexed.indices.dtype == (np.uint8 if fits else np.uint16)
        assert len(indexed.palette) == (255 if fits else 257)
        assert decoded.mode == ("P" if fits else "RGB")
    # The colours by hand: levels 0 and 255 of viridis, white between the tiles.
    two = feature_grid(np.array([[[0.0, 1.0]], [[1.0, 0.0]]], dtype=np.float32), cols=2)
    assert two[0, 0].tolist() == [68, 1, 84] and two[0, 1].tolist() == [253, 231, 37]
    assert two[0, 2].tolist() == [255, 255, 255] and two[0, 3].tolist() == [253, 231, 37]


def test_top_k_probabilities_by_hand():
    logits = torch.tensor([[0.0, math.log(2.0), math.log(4.0), math.log(1.0)]])
    rows = top_k(logits, 2, ["a", "b", "c", "d"])
    assert [r["name"] for r in rows] == ["c", "b"]
    assert [r["index"] for r in rows] == [2, 1]
    assert rows[0]["probability"] == pytest.approx(4 / 8)
    assert rows[1]["probability"] == pytest.approx(2 / 8)
    unnamed = top_k(np.array([1.0, 3.0, 2.0]), 5, None)
    assert [r["name"] for r in unnamed] == ["class 1", "class 2", "class 0"]
    assert sum(r["probability"] for r in unnamed) == pytest.approx(1.0)
