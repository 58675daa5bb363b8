"""The paper's architecture, parameter counts and initialisation (PAPER.md)."""

import pytest
import torch
from torch import nn

from alexnet import AlexNet, LocalResponseNorm, ModelConfig
from alexnet.model import BIAS_ONE_LAYERS, CONV_LAYERS, FC_LAYERS


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("towers", "expected"), [(1, 62_378_344), (2, 60_965_224)])
def test_parameter_counts_match_paper(towers, expected):
    assert n_params(AlexNet(num_classes=1000, towers=towers, init=False)) == expected


@pytest.mark.parametrize("towers", [1, 2])
def test_output_shape_for_227_input(towers):
    model = AlexNet(num_classes=10, towers=towers).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 227, 227)).shape == (2, 10)


def test_feature_shapes_follow_paper_table():
    model = AlexNet().eval()
    expected = {"conv1": (96, 55, 55), "pool1": (96, 27, 27), "conv2": (256, 27, 27), "pool2": (256, 13, 13),
                "conv3": (384, 13, 13), "conv4": (384, 13, 13), "conv5": (256, 13, 13), "pool5": (256, 6, 6)}
    x = torch.zeros(1, 3, 227, 227)
    seen = {}
    with torch.no_grad():
        for name, layer in model.features.named_children():
            x = layer(x)
            seen[name] = tuple(x.shape[1:])
    for name, shape in expected.items():
        assert seen[name] == shape, name


def test_layer_names_are_stable():
    model = AlexNet()
    assert list(model.features._modules) == [
        "conv1", "relu1", "lrn1", "pool1", "conv2", "relu2", "lrn2", "pool2",
        "conv3", "relu3", "conv4", "relu4", "conv5", "relu5", "pool5"]
    assert list(model.classifier._modules) == [
        "flatten", "fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"]
    assert isinstance(model.layer("lrn2"), LocalResponseNorm)
    with pytest.raises(KeyError, match="no layer named"):
        model.layer("conv9")


@pytest.mark.parametrize("towers", [1, 2])
def test_tower_connectivity(towers):
    model = AlexNet(towers=towers)
    groups = {name: model.layer(name).groups for name in CONV_LAYERS}
    assert groups == {"conv1": 1, "conv2": towers, "conv3": 1, "conv4": towers, "conv5": towers}
    assert model.layer("lrn1").groups == towers and model.layer("lrn2").groups == towers


def test_dropout_after_fc6_and_fc7_only():
    model = AlexNet()
    names = model.layer_names()
    drops = [n for n, m in zip(names, [model.layer(n) for n in names], strict=True) if isinstance(m, nn.Dropout)]
    assert drops == ["drop6", "drop7"]
    assert names.index("drop6") == names.index("relu6") + 1
    assert names.index("drop7") == names.index("relu7") + 1
    assert model.layer("drop6").p == 0.5


def test_relu_after_every_layer_except_fc8():
    model = AlexNet()
    names = model.layer_names()
    for layer in CONV_LAYERS + FC_LAYERS[:-1]:
        nxt = names[names.index(layer) + 1]
        assert isinstance(model.layer(nxt), nn.ReLU), layer
    assert names[-1] == "fc8"


@pytest.mark.parametrize("name", CONV_LAYERS + FC_LAYERS)
def test_paper_initialisation_per_layer(name):
    torch.manual_seed(0)
    layer = AlexNet(towers=2).layer(name)
    w = layer.weight.detach()
    assert abs(w.mean().item()) < 2e-3
    # The std of >=34,848 draws from N(0, 0.01) is within 3% of 0.01.
    assert w.std().item() == pytest.approx(0.01, rel=0.03)
    expected_bias = 1.0 if name in BIAS_ONE_LAYERS else 0.0
    assert torch.all(layer.bias == expected_bias)


def test_ablation_switches():
    plain = AlexNet(lrn=False, overlap_pool=False, activation="tanh").eval()
    assert isinstance(plain.layer("lrn1"), nn.Identity)
    assert plain.layer("pool1").kernel_size == 2 and plain.layer("pool1").stride == 2
    assert isinstance(plain.layer("relu3"), nn.Tanh)
    with torch.no_grad():
        assert plain(torch.randn(1, 3, 227, 227)).shape == (1, 1000)
    assert n_params(plain) == 62_378_344  # switches change no parameters


def test_config_validation_and_roundtrip():
    model = AlexNet(num_classes=10, towers=2, lrn_alpha_convention="paper")
    cfg = ModelConfig.from_dict(model.config_dict())
    assert cfg == model.config
    with pytest.raises(ValueError, match="towers"):
        AlexNet(towers=3)
    with pytest.raises(ValueError, match="activation"):
        AlexNet(activation="sigmoid")
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({"num_classes": 10, "bogus": 1})


def test_two_tower_conv2_sees_only_its_own_tower():
    # Changing an input map of tower 1 must leave tower 2's conv2 outputs unchanged.
    model = AlexNet(towers=2).eval()
    conv2 = model.layer("conv2")
    x = torch.randn(1, 96, 27, 27)
    y = conv2(x)
    x2 = x.clone()
    x2[:, :48] += 1.0
    y2 = conv2(x2)
    assert torch.equal(y[:, 128:], y2[:, 128:])
    assert not torch.allclose(y[:, :128], y2[:, :128])
